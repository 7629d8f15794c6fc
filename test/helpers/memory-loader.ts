/**
 * A small in-memory DataLoader for the training tests, honouring lib/data/types.ts's contract:
 * the 'vlv' transform (the official crop, Florence-2's processor → pixelValues; the crop in
 * [-1, 1] → image), seeded shuffling per epoch (seed + epoch), epochs following each other
 * (a batch may span two), and a JSON position that restore() continues from exactly.
 */
import sharp from 'sharp';
import type { Batch, DataLoader, DataLoaderOptions, DataPosition } from '../../lib/data/types.js';
import { Tensor } from '../../lib/index.js';
import { readImage, stage1Crop, VlvImageProcessor } from '../../lib/vlv/images.js';

export interface MemorySample {
  /** An image file. */
  file: string;
  caption?: string;
}

interface Prepared {
  key: string;
  pixelValues: Float32Array;
  image: Float32Array;
  caption?: string;
}

/** mulberry32: a tiny seeded PRNG for the shuffles. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffled(n: number, seed: number | undefined, epoch: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (seed === undefined) return order;
  const r = rng(seed + epoch);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

export function memoryLoader(samples: readonly MemorySample[], opts: DataLoaderOptions): DataLoader {
  if (opts.transform.kind !== 'vlv') throw new Error('memoryLoader: the vlv transform only');
  const { cropSize, florence2Folder } = opts.transform;
  let prepared: Promise<Prepared[]> | null = null;
  let dims: { s: number } = { s: 0 };
  const prepare = async (): Promise<Prepared[]> => {
    const proc = await VlvImageProcessor.load(florence2Folder, { imageSize: cropSize });
    const out: Prepared[] = [];
    for (const sample of samples) {
      const decoded = await readImage(sample.file);
      const p = await proc.prepare([decoded]);
      const crop = stage1Crop(decoded.rgb, cropSize);
      const n = cropSize * cropSize;
      const image = new Float32Array(3 * n);
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) image[c * n + i] = (crop.data[3 * i + c]! / 255) * 2 - 1;
      dims = { s: p.pixelValues.shape[2]! };
      const item: Prepared = { key: sample.file, pixelValues: p.pixelValues.toFloat32(), image };
      if (sample.caption !== undefined) item.caption = sample.caption;
      out.push(item);
      p.pixelValues.dispose();
      p.inputIds.dispose();
    }
    return out;
  };
  const pos: DataPosition = { epoch: 0, consumed: 0, skipped: 0 };
  let started = false;
  return {
    async next(): Promise<Batch> {
      started = true;
      prepared ??= prepare();
      const items = await prepared;
      const chosen: Prepared[] = [];
      while (chosen.length < opts.batchSize) {
        if (pos.consumed >= items.length) {
          pos.epoch++;
          pos.consumed = 0;
        }
        const order = shuffled(items.length, opts.seed, pos.epoch);
        chosen.push(items[order[pos.consumed]!]!);
        pos.consumed++;
      }
      const b = chosen.length;
      const s = dims.s;
      const pv = new Float32Array(b * 3 * s * s);
      const im = new Float32Array(b * 3 * cropSize * cropSize);
      chosen.forEach((c, i) => {
        pv.set(c.pixelValues, i * c.pixelValues.length);
        im.set(c.image, i * c.image.length);
      });
      const batch: Batch = {
        keys: chosen.map((c) => c.key),
        pixelValues: Tensor.from(pv, [b, 3, s, s]),
        image: Tensor.from(im, [b, 3, cropSize, cropSize]),
      };
      if (chosen.every((c) => c.caption !== undefined)) batch.captions = chosen.map((c) => c.caption!);
      return batch;
    },
    position: () => ({ ...pos }),
    restore(p: DataPosition) {
      if (started) throw new Error('memoryLoader: restore before the first next()');
      Object.assign(pos, p);
    },
    get epochSize() {
      return samples.length;
    },
    close: () => Promise.resolve(),
  };
}

/** A folder of `n` small test images (w x h PNGs: stripes and gradients in distinct colours), made with sharp. */
export async function makeImages(dir: string, n: number, w = 40, h = 32): Promise<string[]> {
  const files: string[] = [];
  for (let k = 0; k < n; k++) {
    const data = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 3;
        const stripe = Math.floor((x + k * 3) / (2 + (k % 3))) % 2;
        data[o] = (k * 53 + x * 4) % 256;
        data[o + 1] = stripe ? 220 : (y * 7 + k * 31) % 256;
        data[o + 2] = ((k % 2 ? x : y) * 8 + k * 17) % 256;
      }
    const file = `${dir}/img-${k}.png`;
    await sharp(data, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toFile(file);
    files.push(file);
  }
  return files;
}
