/**
 * VAE training: AutoencoderKL reconstruction, as SD VAE fine-tunes do without the GAN. Per
 * micro-batch: the posterior of each image, its sample (fresh noise from the micro-batch's
 * seed), decoded; loss = MSE (or L1: `vaeLoss`) between the decoding and the image (in [-1, 1])
 * + `klWeight` (default 1e-6) x KL(posterior || N(0, I)), the KL summed over the latent's
 * elements and averaged over the batch (diffusers' DiagonalGaussianDistribution.kl().mean()).
 * Every parameter of the VAE trains (encoder, decoder, quant convs).
 *
 * Checkpoints are diffusers VAE folders (config.json + diffusion_pytorch_model.safetensors,
 * lib/train/diffusers.ts): `AutoencoderKL.load` loads them. `model` is a VAE folder or a pipeline
 * folder (its vae/). Evaluation: originals beside their reconstructions (the posterior's mean
 * decoded), eval/step-N.png.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { noGrad } from '../grad-mode.js';
import { AutoencoderKL } from '../models/autoencoder-kl.js';
import { abs, add, exp, mean, mseLoss, mul, randn, scale, sub, sum } from '../ops.js';
import { Tensor } from '../tensor.js';
import { writeFileAtomic } from './atomic.js';
import { checkpointName } from './checkpoint.js';
import {
  diffusersFingerprint,
  diffusersWriter,
  requireParts,
  resolveDiffusersParts,
  weightFilesOf,
  type DiffusersParts,
  type TrainedPart,
} from './diffusers.js';
import { gridPng, rawOf } from './evaluate.js';
import type { StageRunner, StageSpec, Trainee } from './loop.js';
import type { RunSettings } from './options.js';
import { selectParams } from './params.js';
import { microBatchSeed } from './seeds.js';

/** KL(N(mean, exp(logvar)) || N(0, I)) summed per sample, averaged over the batch (a scalar). */
export async function klLoss(meanT: Tensor, logvar: Tensor): Promise<{ kl: Tensor; temps: Tensor[] }> {
  const b = meanT.shape[0]!;
  const perSample = meanT.numel / b;
  const m2 = await mul(meanT, meanT);
  const v = await exp(logvar);
  const a = await add(m2, v);
  const c = await sub(a, logvar);
  const s = await sum(c);
  // 0.5 * sum(mean^2 + var - 1 - logvar) / B
  const kl = await scale(s, 0.5 / b, -0.5 * perSample);
  return { kl, temps: [m2, v, a, c, s] };
}

async function openVae(folder: string, device: 'cpu' | 'cuda'): Promise<Trainee> {
  const found = resolveDiffusersParts(folder);
  const dir = requireParts(found, ['vae'], 'vae training').vae;
  // The checkpoint is a lone VAE folder.
  const p: DiffusersParts = { root: dir, parts: { vae: dir } };
  const vae = await AutoencoderKL.load(dir, { device });
  const trained = (): TrainedPart[] => [{ part: 'vae', sub: '', parameters: vae.parameters() }];
  return {
    select: () => selectParams(vae.parameters(), () => vae.parameters()),
    data(s) {
      const size = s.imageSize ?? vae.config.sample_size;
      return Promise.resolve({ transform: { kind: 'resize-crop', size }, imageSize: size });
    },
    prepare: (s, dev) => prepareVae(vae, s, dev),
    writer: () => Promise.resolve({ write: diffusersWriter(p, trained(), true) }),
    stateExtras: (set) => ({ weightFiles: weightFilesOf(trained(), set) }),
    dispose: () => vae.dispose(),
  };
}

function prepareVae(vae: AutoencoderKL, s: RunSettings, device: 'cpu' | 'cuda'): Promise<StageRunner> {
  const l1 = s.vaeLoss === 'l1';
  const klWeight = s.klWeight ?? 1e-6;
  const f = vae.scaleFactor;
  const c = vae.config.latent_channels;
  return Promise.resolve({
    async loss(batch, seed) {
      const temps: Tensor[] = [];
      const keep = <T extends Tensor>(t: T): T => (temps.push(t), t);
      const [b, , h, w] = batch.image.shape as [number, number, number, number];
      const image = batch.image.device === device ? batch.image : keep(await batch.image.to(device));
      let noise = keep(await randn([b, c, h / f, w / f], microBatchSeed(seed, 1)));
      if (noise.device !== device) noise = keep(await noise.to(device));
      const enc = await vae.encode({ sample: image, noise });
      keep(enc.mean);
      keep(enc.logvar);
      const dec = keep((await vae.decode({ latent: keep(enc.latentSample!) })).sample);
      let rec: Tensor;
      if (l1) {
        const d = keep(await sub(dec, image));
        const a = keep(await abs(d));
        rec = keep(await mean(a));
      } else rec = keep(await mseLoss(dec, image));
      if (klWeight === 0) return { loss: rec, temps };
      const { kl, temps: kt } = await klLoss(enc.mean, enc.logvar);
      temps.push(...kt, kl);
      const wkl = keep(await scale(kl, klWeight));
      const loss = keep(await add(rec, wkl));
      return { loss, temps };
    },
    shapes(batch) {
      const [b, , h, w] = batch.image.shape as [number, number, number, number];
      return { image: batch.image.shape, latents: [b, c, h / f, w / f] };
    },
    async evaluate(ctx) {
      const n = ctx.set.images.length;
      const side = ctx.set.images[0]!.width;
      const flat = new Float32Array(n * 3 * side * side);
      ctx.set.images.forEach((im, i) => {
        for (let p = 0; p < side * side; p++)
          for (let ch = 0; ch < 3; ch++) flat[(i * 3 + ch) * side * side + p] = (im.data[p * 3 + ch]! / 255) * 2 - 1;
      });
      const x = Tensor.from(flat, [n, 3, side, side]);
      const out = await noGrad(async () => {
        const xd = x.device === device ? x : await x.to(device);
        const enc = await vae.encode({ sample: xd });
        const dec = (await vae.decode({ latent: enc.mean })).sample;
        const unit = await scale(dec, 0.5, 0.5);
        for (const t of [enc.mean, enc.logvar, dec, ...(xd !== x ? [xd] : [])]) t.dispose();
        return unit;
      });
      try {
        const recs = ctx.set.images.map((_, i) => rawOf(out, i));
        const png = await gridPng(ctx.set.images, recs);
        await mkdir(join(ctx.runDir, 'eval'), { recursive: true });
        const path = join(ctx.runDir, 'eval', `${checkpointName(ctx.step)}.png`);
        writeFileAtomic(path, png);
        writeFileAtomic(join(ctx.runDir, 'eval', 'latest.png'), png);
        return { path, line: `reconstructions ${path}` };
      } finally {
        out.dispose();
        x.dispose();
      }
    },
    dispose() {},
  });
}

export const VAE: StageSpec = {
  kind: 'vae',
  open: openVae,
  fingerprint: (folder) => diffusersFingerprint(folder, 'vae'),
  checkBase: () => {},
};
