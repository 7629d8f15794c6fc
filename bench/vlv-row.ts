/**
 * The VLV rows' work (bench/vlv.bench.ts): a VLV folder at real sizes from configs alone
 * (bench/configs/vlv, bench/configs/sd21-unet.json) plus a small heads checkpoint, and the
 * timed calls. Run as a script, one process per step, so that each measurement's peak RSS
 * (VmHWM) is its own: argv[2] is a Request, the last stdout line one JSON result. --quick
 * calls the same functions in process on toy configs.
 *
 * - prepare: writes the folder: vlv.json, heads.safetensors (query_embed [1, 77, d_florence],
 *   language_proj d_florence -> d_clip -> d_clip, mlp d_clip -> d_lm -> d_lm) and each part's
 *   config; the parts' weights are the engine's seeded random ones (randomSeed), in the load's
 *   matrix dtype.
 * - encode: image [1, 3, S, S] + prompt ids -> z, c (Florence-2, BART encoder, query decoder,
 *   language_proj, CLIP). caption: the same, then generate from c (beam search, a fixed number
 *   of new tokens: no EOS). reconstruct: c -> images at `steps` 2; the 'denoise' progress events
 *   split a call into its parts: the second step alone (UNet on [uncond; cond] + the scheduler
 *   step) and what follows it (the VAE decode).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { noGrad, ops, saveSafetensors, Tensor, VlvModel, type VlvPart } from '../lib/index.js';
import { gib, statusKiB } from './lib.js';

const CONFIGS = join(import.meta.dirname, 'configs');

export interface Request {
  mode: 'prepare' | 'encode' | 'caption' | 'reconstruct';
  folder: string;
  /** Toy configs of the same layout (--quick). */
  tiny?: boolean;
  dtype?: 'f32' | 'bf16';
  reps?: number;
  /** Prompt ids (below the Florence-2 vocabulary). */
  prompt?: number[];
  newTokens?: number;
  beams?: number;
  /** reconstruct: the image side in pixels. */
  side?: number;
}

/** Per-run times (ms) of each measured part, the load time and memory. */
export interface Result {
  loadS: number;
  times: Record<string, number[]>;
  rssLoadedGiB: number;
  peakGiB: number;
  image?: number;
  tokens?: number;
}

type Json = Record<string, unknown>;
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Json;

/** Each part's config (the real ones, or toy ones of the same layout). */
export function partConfigs(tiny: boolean): Record<string, { file: string; config: Json }> {
  const at = (part: string, file = 'config.json') => readJson(join(CONFIGS, 'vlv', part, file));
  const florence2 = at('florence2');
  const textEncoder = at('text_encoder');
  const unet = readJson(join(CONFIGS, tiny ? 'tiny-unet.json' : 'sd21-unet.json'));
  const vae = at('vae');
  const qwen2 = at('qwen2');
  if (tiny) {
    Object.assign(florence2, { projection_dim: 32, vocab_size: 1024 });
    Object.assign(florence2.text_config as Json, {
      vocab_size: 1024,
      d_model: 32,
      encoder_layers: 2,
      decoder_layers: 2,
      encoder_attention_heads: 4,
      decoder_attention_heads: 4,
      encoder_ffn_dim: 64,
      decoder_ffn_dim: 64,
    });
    Object.assign(florence2.vision_config as Json, {
      dim_embed: [16, 32],
      depths: [1, 1],
      num_heads: [2, 4],
      num_groups: [2, 4],
      patch_size: [7, 3],
      patch_stride: [4, 2],
      patch_padding: [3, 1],
      patch_prenorm: [false, true],
      window_size: 2,
      projection_dim: 32,
    });
    const width = unet.cross_attention_dim as number;
    Object.assign(textEncoder, {
      hidden_size: width,
      intermediate_size: 2 * width,
      num_hidden_layers: 2,
      num_attention_heads: 4,
    });
    Object.assign(vae, { block_out_channels: [8, 16], norm_num_groups: 4, layers_per_block: 1 });
    vae.down_block_types = (vae.down_block_types as string[]).slice(0, 2);
    vae.up_block_types = (vae.up_block_types as string[]).slice(0, 2);
    Object.assign(qwen2, {
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      vocab_size: 1000,
    });
  }
  return {
    florence2: { file: 'config.json', config: florence2 },
    text_encoder: { file: 'config.json', config: textEncoder },
    unet: { file: 'config.json', config: unet },
    vae: { file: 'config.json', config: vae },
    scheduler: { file: 'scheduler_config.json', config: at('scheduler', 'scheduler_config.json') },
    qwen2: { file: 'config.json', config: qwen2 },
  };
}

/** N(0, sd^2) as f32 (Philox stream `seed`). */
async function normal(shape: number[], sd: number, seed: number): Promise<Tensor> {
  const r = await noGrad(() => ops.randn(shape, seed));
  const x = await ops.scale(r, sd);
  r.dispose();
  return x;
}

async function prepare(req: Request): Promise<Json> {
  const cfg = partConfigs(!!req.tiny);
  const folders: Record<string, string> = {};
  for (const [part, { file, config }] of Object.entries(cfg)) {
    mkdirSync(join(req.folder, part), { recursive: true });
    writeFileSync(join(req.folder, part, file), JSON.stringify(config, null, 1));
    if (part === 'florence2' && !req.tiny)
      copyFileSync(
        join(CONFIGS, 'vlv', 'florence2', 'preprocessor_config.json'),
        join(req.folder, part, 'preprocessor_config.json'),
      );
    folders[part === 'qwen2' ? 'language_model' : part] = part;
  }
  const dFlorence = (cfg.florence2!.config.text_config as Json).d_model as number;
  const dClip = cfg.text_encoder!.config.hidden_size as number;
  const dLm = cfg.qwen2!.config.hidden_size as number;
  const lin = async (name: string, inp: number, out: number, seed: number) => ({
    [`${name}.weight`]: await normal([out, inp], 1 / Math.sqrt(inp), seed),
    [`${name}.bias`]: await normal([out], 0.02, seed + 1),
  });
  const heads: Record<string, Tensor> = {
    query_embed: await normal([1, 77, dFlorence], 0.02, 11),
    ...(await lin('language_proj.0', dFlorence, dClip, 12)),
    ...(await lin('language_proj.2', dClip, dClip, 14)),
    ...(await lin('mlp.layers.0', dClip, dLm, 16)),
    ...(await lin('mlp.layers.2', dLm, dLm, 18)),
  };
  await saveSafetensors(join(req.folder, 'heads.safetensors'), heads);
  for (const t of Object.values(heads)) t.dispose();
  writeFileSync(
    join(req.folder, 'vlv.json'),
    JSON.stringify({ format: 'vlv', version: 1, checkpoint: 'heads.safetensors', parts: folders }, null, 1),
  );
  return { ok: true };
}

const PARTS: Record<'encode' | 'caption' | 'reconstruct', VlvPart[]> = {
  encode: ['florence2', 'text_encoder'],
  caption: ['florence2', 'text_encoder', 'language_model'],
  reconstruct: ['text_encoder', 'unet', 'vae', 'scheduler'],
};

async function measure(req: Request & { mode: 'encode' | 'caption' | 'reconstruct' }): Promise<Result> {
  const reps = req.reps ?? 3;
  const cfg = partConfigs(!!req.tiny);
  const t0 = performance.now();
  const vlv = await VlvModel.load(req.folder, { use: PARTS[req.mode], dtype: req.dtype ?? 'f32', randomSeed: 7 });
  const loadS = (performance.now() - t0) / 1000;
  const rssLoadedGiB = gib(statusKiB('VmRSS'));
  const times: Record<string, number[]> = {};
  const add = (k: string, ms: number) => (times[k] ??= []).push(ms);
  const result: Result = { loadS, times, rssLoadedGiB, peakGiB: 0 };

  if (req.mode === 'reconstruct') {
    const dClip = cfg.text_encoder!.config.hidden_size as number;
    const c = await normal([1, 77, dClip], 1, 21);
    const vocab = cfg.text_encoder!.config.vocab_size as number;
    const uncond = Tensor.from(
      Array.from({ length: 77 }, (_, i) => (i === 0 ? vocab - 2 : vocab - 1)),
      [1, 77],
      'i64',
    ); // <|startoftext|> then <|endoftext|> padding: the empty prompt's shape
    const side = req.side ?? 384;
    for (let rep = -1; rep < reps; rep++) {
      const stamps: number[] = [];
      const s = performance.now();
      const r = await vlv.reconstruct(
        { c, uncondInputIds: uncond },
        {
          steps: 2,
          guidance: 2,
          height: side,
          width: side,
          seed: rep + 2,
          onProgress: () => stamps.push(performance.now()),
        },
      );
      const end = performance.now();
      for (let i = 0; i < 50 && stamps.length < 2; i++) await new Promise((res) => setTimeout(res, 10));
      if (stamps.length !== 2) throw new Error(`reconstruct: ${stamps.length} progress events, expected 2`);
      result.image = r.image.shape[2];
      for (const t of Object.values(r)) if (t instanceof Tensor) t.dispose();
      if (rep < 0) continue;
      add('call', end - s);
      add('step', stamps[1]! - stamps[0]!);
      add('vae', end - stamps[1]!);
    }
    c.dispose();
  } else {
    const image = ((cfg.florence2!.config.vision_config as Json).dim_embed as number[]).length === 4 ? 768 : 64;
    const pixels = await normal([1, 3, image, image], 1, 31);
    const ids = Tensor.from(req.prompt!, [1, req.prompt!.length], 'i64');
    result.image = image;
    let c: Tensor | undefined;
    for (let rep = -1; rep < reps; rep++) {
      const s = performance.now();
      const out = await noGrad(() => vlv.encode({ pixelValues: pixels, inputIds: ids }));
      if (rep >= 0) add('encode', performance.now() - s);
      c?.dispose();
      c = out.c;
      for (const t of [out.encoderHiddenStates, out.decoderHiddenStates, out.z]) t.dispose();
    }
    if (req.mode === 'caption') {
      const newTokens = req.newTokens ?? 32;
      for (let rep = -1; rep < reps; rep++) {
        const s = performance.now();
        const g = await vlv.generate(
          { c: c! },
          { numBeams: req.beams ?? 4, maxNewTokens: newTokens, earlyStopping: true, prefixDtype: 'bf16' }, // no eos: every call makes newTokens
        );
        const ms = performance.now() - s;
        result.tokens = g.ids.shape[1];
        if (result.tokens !== newTokens)
          throw new Error(`generate: ${result.tokens} new tokens, expected ${newTokens}`);
        for (const t of [g.ids, g.prefix, g.c, g.sequencesScores]) t?.dispose();
        if (rep >= 0) add('generate', ms);
      }
    }
    c?.dispose();
    pixels.dispose();
  }
  vlv.dispose();
  result.peakGiB = gib(statusKiB('VmHWM'));
  return result;
}

export async function runRequest(req: Request): Promise<Json | Result> {
  return req.mode === 'prepare' ? prepare(req) : measure(req as Request & { mode: 'encode' });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runRequest(JSON.parse(process.argv[2]!) as Request)));
}
