/**
 * Text-to-image training (diffusers' train_text_to_image.py): the UNet and the CLIP text encoder
 * (which of them: `trainParts`, default both) learn on (image, caption) pairs; the VAE is frozen.
 * Per micro-batch, from its seed: latents = the VAE posterior's sample x scaling_factor; noise;
 * per-sample timesteps uniform in [0, num_train_timesteps); noisy = add_noise; the target is the
 * noise (epsilon) or the velocity (v_prediction), per the scheduler config; the loss is the MSE
 * of the UNet's prediction. Captions are tokenized with the pipeline's CLIP tokenizer, padded /
 * truncated to the text encoder's max_position_embeddings; `captionDropout` (default 10%) of them
 * become the empty prompt (for classifier-free guidance), drawn per sample from the micro-batch's
 * seed so that a resumed run drops the same ones. The noise schedule of training is the
 * pipeline's scheduler (DDPM or DDIM: both add noise as sqrt(a) x0 + sqrt(1 - a) noise).
 *
 * Checkpoints are diffusers pipeline folders (lib/train/diffusers.ts): `loadPipeline` loads them.
 * Evaluation: the eval set's captions through `textToImage` (few steps, fixed seed), a grid of
 * the originals beside the generated images (eval/step-N.png).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { textToImage } from '../diffusion/sample.js';
import { VlvError } from '../errors.js';
import { noGrad } from '../grad-mode.js';
import { mseLoss, rand, randn, scale } from '../ops.js';
import { AutoencoderKL } from '../models/autoencoder-kl.js';
import { ClipTextModel } from '../models/clip-text.js';
import { Scheduler } from '../models/scheduler.js';
import { UNet2DConditionModel } from '../models/unet2d-condition.js';
import { Tensor } from '../tensor.js';
import type { Tokenizer } from '../tokenizer.js';
import { loadTokenizer } from '../tokenizer-files.js';
import { writeFileAtomic } from './atomic.js';
import { checkpointName } from './checkpoint.js';
import {
  diffusersFingerprint,
  diffusersWriter,
  requireParts,
  resolveDiffusersParts,
  weightFilesOf,
  type TrainedPart,
} from './diffusers.js';
import { gridPng, rawOf } from './evaluate.js';
import type { StageRunner, StageSpec, Trainee } from './loop.js';
import type { RunSettings, T2iPart } from './options.js';
import { selectParams } from './params.js';
import { microBatchSeed } from './seeds.js';

/** Sub-streams of a micro-batch's seed. */
const STREAM = { posterior: 1, noise: 2, timesteps: 3, dropout: 4 } as const;

/** Whether sample `i` of the micro-batch seeded `seed` has its caption dropped (probability p). */
export function captionDropped(seed: number, i: number, p: number): boolean {
  if (p <= 0) return false;
  const u = microBatchSeed(microBatchSeed(seed, STREAM.dropout), i) / 2 ** 53;
  return u < p;
}

/** The captions of a micro-batch with the dropped ones replaced by the empty prompt. */
export function dropCaptions(captions: readonly string[], seed: number, p: number): string[] {
  return captions.map((c, i) => (captionDropped(seed, i, p) ? '' : c));
}

/** Ids [B, L] (i64): padded / truncated to L, the text encoder's max_position_embeddings. */
export function captionIds(tokenizer: Tokenizer, captions: readonly string[], maxLength: number): Tensor {
  const { ids } = tokenizer.encodeBatch(captions, { padding: 'max_length', maxLength, truncation: true });
  return Tensor.from(
    BigInt64Array.from(ids.flat(), (v) => BigInt(v)),
    [ids.length, maxLength],
    'i64',
  );
}

/** Per-sample timesteps uniform in [0, T) from a seed: i64 [B]. */
async function drawTimesteps(b: number, seed: number, t: number): Promise<Tensor> {
  const u = await rand([b], seed);
  const v = u.toFloat32();
  u.dispose();
  return Tensor.from(
    BigInt64Array.from(v, (x) => BigInt(Math.min(t - 1, Math.floor(x * t)))),
    [b],
    'i64',
  );
}

interface T2iModels {
  unet: UNet2DConditionModel;
  vae: AutoencoderKL;
  textEncoder: ClipTextModel;
  tokenizer: Tokenizer;
  /** Training's noise schedule (stateless add_noise / get_velocity). */
  scheduler: Scheduler;
  schedulerDir: string;
}

const PARTS = ['unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler'] as const;

async function openT2i(folder: string, device: 'cpu' | 'cuda'): Promise<Trainee> {
  const p = resolveDiffusersParts(folder);
  const dirs = requireParts(p, PARTS, 't2i training');
  const loaded: { dispose(): void }[] = [];
  const track = <T extends { dispose(): void }>(m: T): T => (loaded.push(m), m);
  let m: T2iModels;
  try {
    m = {
      unet: track(await UNet2DConditionModel.load(dirs.unet, { device })),
      vae: track(await AutoencoderKL.load(dirs.vae, { device })),
      textEncoder: track(await ClipTextModel.load(dirs.text_encoder, { device })),
      tokenizer: await loadTokenizer(dirs.tokenizer, { family: 'clip' }),
      scheduler: track(await Scheduler.load(dirs.scheduler)),
      schedulerDir: dirs.scheduler,
    };
  } catch (e) {
    for (const x of loaded) x.dispose();
    throw e;
  }
  const sc = m.scheduler.config;
  if (sc._class_name !== 'DDPMScheduler' && sc._class_name !== 'DDIMScheduler')
    throw new VlvError(
      'E_ARG',
      `t2i training adds noise as DDPM does: the pipeline's scheduler must be DDPMScheduler or DDIMScheduler, got ${String(sc._class_name)} (point scheduler= at a DDPM config)`,
    );
  if (sc.prediction_type !== 'epsilon' && sc.prediction_type !== 'v_prediction')
    throw new VlvError('E_ARG', `t2i training: prediction_type ${sc.prediction_type} (epsilon or v_prediction)`);
  if (m.textEncoder.config.hidden_size !== m.unet.crossAttentionDim)
    throw new VlvError(
      'E_ARG',
      `t2i training: the text encoder's width ${m.textEncoder.config.hidden_size} is not the UNet's cross_attention_dim ${m.unet.crossAttentionDim}`,
    );
  if (m.vae.config.latent_channels !== m.unet.config.in_channels)
    throw new VlvError(
      'E_ARG',
      `t2i training: the VAE's latent_channels ${m.vae.config.latent_channels} differ from the UNet's in_channels ${m.unet.config.in_channels}`,
    );
  const partParams = (): Record<T2iPart, Record<string, Tensor>> => ({
    unet: m.unet.parameters(),
    text_encoder: m.textEncoder.parameters(),
  });
  const prefixed = (parts: readonly T2iPart[]) => {
    const out: Record<string, Tensor> = {};
    const pp = partParams();
    for (const part of parts) for (const [n, t] of Object.entries(pp[part])) out[`${part}.${n}`] = t;
    return out;
  };
  let trainedParts: T2iPart[] = [];
  const trained = (): TrainedPart[] => {
    const pp = partParams();
    return trainedParts.map((part) => ({ part, sub: part, parameters: pp[part] }));
  };
  return {
    select(s) {
      trainedParts = s.trainParts ?? ['unet', 'text_encoder'];
      return selectParams({ ...prefixed(['unet', 'text_encoder']), ...prefixVae(m.vae) }, () => prefixed(trainedParts));
    },
    data(s) {
      const size = s.imageSize ?? (m.unet.config.sample_size ?? 64) * m.vae.scaleFactor;
      return Promise.resolve({ transform: { kind: 'resize-crop', size }, imageSize: size });
    },
    prepare: (s, dev) => prepareT2i(m, s, dev),
    writer: () => Promise.resolve({ write: diffusersWriter(p, trained(), false) }),
    stateExtras: (set) => ({ weightFiles: weightFilesOf(trained(), set) }),
    dispose: () => {
      for (const x of loaded) x.dispose();
    },
  };
}

function prefixVae(vae: AutoencoderKL): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [n, t] of Object.entries(vae.parameters())) out[`vae.${n}`] = t;
  return out;
}

async function prepareT2i(m: T2iModels, s: RunSettings, device: 'cpu' | 'cuda'): Promise<StageRunner> {
  const T = m.scheduler.config.num_train_timesteps;
  const vPred = m.scheduler.config.prediction_type === 'v_prediction';
  const maxLength = m.textEncoder.config.max_position_embeddings;
  const sf = m.vae.config.scaling_factor;
  const shift = m.vae.config.shift_factor ?? 0;
  const p = s.captionDropout ?? 0.1;
  // Sampling sets timesteps on its scheduler: evaluation has its own.
  const evalScheduler = await Scheduler.load(m.schedulerDir);
  const captionsOf = (batch: { captions?: string[]; image: Tensor }) => {
    if (!batch.captions || batch.captions.length !== batch.image.shape[0])
      throw new VlvError(
        'E_ARG',
        't2i training needs a caption for every image (pairs: JSONL, CSV or WebDataset shards)',
      );
    return batch.captions;
  };
  return {
    async loss(batch, seed) {
      const captions = dropCaptions(captionsOf(batch), seed, p);
      const b = batch.image.shape[0]!;
      const temps: Tensor[] = [];
      const keep = <T extends Tensor>(t: T): T => (temps.push(t), t);
      const onDevice = async (t: Tensor) => (t.device === device ? t : keep(await t.to(device)));
      const image = await onDevice(batch.image);
      const ids = await onDevice(keep(captionIds(m.tokenizer, captions, maxLength)));
      // The frozen VAE: its posterior's sample (fresh noise per sample), no graph.
      const latents = await noGrad(async () => {
        const c = m.vae.config.latent_channels;
        const [h, w] = [batch.image.shape[2]! / m.vae.scaleFactor, batch.image.shape[3]! / m.vae.scaleFactor];
        const pn = await onDevice(keep(await randn([b, c, h, w], microBatchSeed(seed, STREAM.posterior))));
        const enc = await m.vae.encode({ sample: image, noise: pn });
        enc.mean.dispose();
        enc.logvar.dispose();
        keep(enc.latentSample!);
        // (sample - shift_factor) x scaling_factor (shift_factor: null for SD's VAEs).
        return keep(await scale(enc.latentSample!, sf, -shift * sf));
      });
      const noise = await onDevice(keep(await randn(latents.shape, microBatchSeed(seed, STREAM.noise))));
      const timesteps = await onDevice(keep(await drawTimesteps(b, microBatchSeed(seed, STREAM.timesteps), T)));
      const { noisy, target } = await noGrad(async () => ({
        noisy: keep(await m.scheduler.addNoise({ originalSamples: latents, noise, timesteps })),
        target: vPred ? keep(await m.scheduler.getVelocity({ sample: latents, noise, timesteps })) : noise,
      }));
      const text = await m.textEncoder.forward({ inputIds: ids });
      for (const t of [text.lastHiddenState, text.penultimateHiddenState, ...text.hiddenStates, text.poolerOutput])
        if (t && t !== text.promptEmbeds) keep(t);
      keep(text.promptEmbeds);
      const pred = keep(
        (await m.unet.forward({ sample: noisy, timestep: timesteps, encoderHiddenStates: text.promptEmbeds })).sample,
      );
      const loss = keep(await mseLoss(pred, target));
      return { loss, temps: [...new Set(temps)].filter((t) => t !== batch.image) };
    },
    shapes(batch) {
      const ids = captionIds(m.tokenizer, captionsOf(batch), maxLength);
      const f = m.vae.scaleFactor;
      const [b, , h, w] = batch.image.shape as [number, number, number, number];
      const out = {
        image: batch.image.shape,
        inputIds: ids.shape,
        latents: [b, m.vae.config.latent_channels, h / f, w / f],
      };
      ids.dispose();
      return out;
    },
    async evaluate(ctx) {
      const prompts = ctx.set.captions ?? ctx.set.keys.map(() => '');
      const r = await noGrad(() =>
        textToImage({
          unet: m.unet,
          vae: m.vae,
          scheduler: evalScheduler,
          textEncoder: m.textEncoder,
          tokenizer: m.tokenizer,
          prompt: prompts,
          steps: ctx.hk.evalSteps,
          seed: ctx.seed,
          height: ctx.imageSize,
          width: ctx.imageSize,
        }),
      );
      try {
        const gen = prompts.map((_, i) => rawOf(r.images, i));
        const png = await gridPng(ctx.set.images, gen);
        await mkdir(join(ctx.runDir, 'eval'), { recursive: true });
        const path = join(ctx.runDir, 'eval', `${checkpointName(ctx.step)}.png`);
        writeFileAtomic(path, png);
        writeFileAtomic(join(ctx.runDir, 'eval', 'latest.png'), png);
        return { path, line: `text-to-image grid ${path}` };
      } finally {
        r.images.dispose();
        r.latents.dispose();
      }
    },
    dispose() {
      evalScheduler.dispose();
    },
  };
}

export const T2I: StageSpec = {
  kind: 't2i',
  open: openT2i,
  fingerprint: (folder) => diffusersFingerprint(folder, 'unet'),
  // The checkpoint holds every part: resuming needs nothing of the base.
  checkBase: () => {},
};
