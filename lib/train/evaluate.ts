/**
 * Periodic evaluation on a fixed set: the first `evalCount` samples of the run's first batch,
 * kept in the run folder (eval/eval-set.safetensors: the crops as 8-bit pixels, their keys and
 * captions) so that a resumed run evaluates the same images.
 *
 * - stage 1: the pipelines' `reconstruct` of each crop (few steps, fixed seed) and a grid PNG,
 *   originals on the left, reconstructions on the right (eval/step-NNNNNN.png);
 * - stage 2: the pipelines' `caption` (greedy) of each crop, logged to eval.jsonl beside the
 *   reference caption.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Batch } from '../data/types.js';
import { noGrad } from '../grad-mode.js';
import { loadSafetensors, saveSafetensors } from '../safetensors.js';
import { Tensor } from '../tensor.js';
import type { RawImage } from '../vlv/images.js';
import type { VlvModel } from '../vlv/model.js';
import { caption, reconstruct } from '../vlv/pipelines.js';
import { writeFileAtomic } from './atomic.js';
import { checkpointName } from './checkpoint.js';

export interface EvalSet {
  keys: string[];
  images: RawImage[];
  captions?: string[];
}

/** The first `count` samples of a batch: its VAE-side crops ([-1, 1]) as 8-bit RGB. */
export function evalSetFromBatch(batch: Batch, count: number): EvalSet {
  const [b, , h, w] = batch.image.shape as [number, number, number, number];
  const n = Math.min(count, b);
  const v = batch.image.toFloat32();
  const images: RawImage[] = [];
  for (let i = 0; i < n; i++) {
    const data = new Uint8Array(h * w * 3);
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < h * w; p++) {
        const x = (v[(i * 3 + c) * h * w + p]! + 1) / 2;
        data[p * 3 + c] = Math.round(Math.min(1, Math.max(0, x)) * 255);
      }
    images.push({ data, width: w, height: h, channels: 3, name: batch.keys[i] ?? `sample ${i}` });
  }
  const set: EvalSet = { keys: batch.keys.slice(0, n), images };
  if (batch.captions) set.captions = batch.captions.slice(0, n);
  return set;
}

const evalSetFile = (runDir: string) => join(runDir, 'eval', 'eval-set.safetensors');

export async function saveEvalSet(runDir: string, set: EvalSet): Promise<void> {
  await mkdir(join(runDir, 'eval'), { recursive: true });
  const { width: w, height: h } = set.images[0]!;
  const flat = new Uint8Array(set.images.length * h * w * 3);
  set.images.forEach((im, i) => flat.set(im.data, i * h * w * 3));
  const meta: Record<string, string> = { keys: JSON.stringify(set.keys) };
  if (set.captions) meta.captions = JSON.stringify(set.captions);
  await saveSafetensors(evalSetFile(runDir), { images: Tensor.from(flat, [set.images.length, h, w, 3], 'u8') }, meta);
}

export async function loadEvalSet(runDir: string): Promise<EvalSet | null> {
  const file = evalSetFile(runDir);
  if (!existsSync(file)) return null;
  const { tensors, metadata } = await loadSafetensors(file);
  const t = tensors.images!;
  const [n, h, w] = t.shape as [number, number, number, number];
  const all = t.toArray() as Uint8Array;
  t.dispose();
  const keys = JSON.parse(metadata.keys ?? '[]') as string[];
  const images = Array.from({ length: n }, (_, i) => ({
    data: all.slice(i * h * w * 3, (i + 1) * h * w * 3),
    width: w,
    height: h,
    channels: 3 as const,
    name: keys[i] ?? `sample ${i}`,
  }));
  const set: EvalSet = { keys, images };
  if (metadata.captions) set.captions = JSON.parse(metadata.captions) as string[];
  return set;
}

/** Rows of [original | reconstruction] with a white margin, as PNG bytes; tiles at least 128 px (nearest-neighbour enlarged). */
export async function gridPng(originals: RawImage[], reconstructions: RawImage[]): Promise<Buffer> {
  const pad = 4;
  const src = originals[0]!;
  const k = Math.max(1, Math.ceil(128 / Math.max(src.width, src.height)));
  const w = src.width * k,
    h = src.height * k;
  const tile = (im: RawImage) =>
    sharp(Buffer.from(im.data), { raw: { width: im.width, height: im.height, channels: 3 } })
      .resize(w, h, { kernel: im.width * k === w && im.height * k === h ? 'nearest' : 'lanczos3' })
      .png()
      .toBuffer();
  const tiles = await Promise.all(
    originals.flatMap((o, i) => [
      tile(o).then((input) => ({ input, left: pad, top: pad + i * (h + pad) })),
      tile(reconstructions[i]!).then((input) => ({ input, left: 2 * pad + w, top: pad + i * (h + pad) })),
    ]),
  );
  return sharp({
    create: { width: 2 * w + 3 * pad, height: originals.length * (h + pad) + pad, channels: 3, background: '#ffffff' },
  })
    .composite(tiles)
    .png()
    .toBuffer();
}

/** Image i of [B, 3, H, W] in [0, 1] as 8-bit RGB. */
export function rawOf(t: Tensor, i: number): RawImage {
  const [, , h, w] = t.shape as [number, number, number, number];
  const v = t.toFloat32();
  const data = new Uint8Array(h * w * 3);
  for (let c = 0; c < 3; c++)
    for (let p = 0; p < h * w; p++) {
      const x = v[(i * 3 + c) * h * w + p]!;
      data[p * 3 + c] = Math.round(Math.min(1, Math.max(0, Number.isNaN(x) ? 0 : x)) * 255);
    }
  return { data, width: w, height: h, channels: 3 };
}

/** Stage 1: reconstructions of the eval set, the grid written to eval/step-N.png; returns its path. */
export async function evaluateStage1(
  model: VlvModel,
  set: EvalSet,
  runDir: string,
  step: number,
  opts: { steps: number; imageSize: number; seed: number },
): Promise<string> {
  const side = set.images[0]!.width;
  const r = await noGrad(() =>
    reconstruct(model, set.images, {
      steps: opts.steps,
      seed: opts.seed,
      imageSize: opts.imageSize,
      size: side,
      batchSize: set.images.length,
    }),
  );
  try {
    const recs = set.images.map((_, i) => rawOf(r.images, i));
    const png = await gridPng(set.images, recs);
    await mkdir(join(runDir, 'eval'), { recursive: true });
    const path = join(runDir, 'eval', `${checkpointName(step)}.png`);
    writeFileAtomic(path, png);
    writeFileAtomic(join(runDir, 'eval', 'latest.png'), png);
    return path;
  } finally {
    r.images.dispose();
  }
}

/** Stage 2: greedy captions of the eval set beside the references. */
export async function evaluateStage2(
  model: VlvModel,
  set: EvalSet,
  opts: { maxNewTokens: number; imageSize: number },
): Promise<{ key: string; caption: string; reference?: string }[]> {
  const caps = await noGrad(() =>
    caption(model, set.images, {
      beams: 1,
      maxNewTokens: opts.maxNewTokens,
      imageSize: opts.imageSize,
      batchSize: set.images.length,
    }),
  );
  return caps.map((c, i) => ({
    key: set.keys[i] ?? c.file,
    caption: c.caption,
    ...(set.captions?.[i] !== undefined ? { reference: set.captions[i] } : {}),
  }));
}
