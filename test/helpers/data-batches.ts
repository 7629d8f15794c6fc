/** Reading batches of a data loader into plain values (test/data/). */
import type { Batch, DataLoader } from '../../lib/index.js';

export interface PlainBatch {
  keys: string[];
  image: Float32Array;
  shape: number[];
  pixelValues?: Float32Array;
  captions?: string[];
}

export function plain(b: Batch): PlainBatch {
  const out: PlainBatch = { keys: b.keys, image: b.image.toFloat32(), shape: b.image.shape };
  if (b.pixelValues) out.pixelValues = b.pixelValues.toFloat32();
  if (b.captions) out.captions = b.captions;
  b.image.dispose();
  b.pixelValues?.dispose();
  return out;
}

/** The next n batches, each with the position after it. */
export async function take(loader: DataLoader, n: number): Promise<(PlainBatch & { after: string })[]> {
  const out: (PlainBatch & { after: string })[] = [];
  for (let i = 0; i < n; i++) out.push({ ...plain(await loader.next()), after: JSON.stringify(loader.position()) });
  return out;
}

/** Batches compared by keys and tensor values. */
export const same = (a: PlainBatch, b: PlainBatch): boolean =>
  JSON.stringify(a.keys) === JSON.stringify(b.keys) &&
  a.image.length === b.image.length &&
  a.image.every((v, i) => Object.is(v, b.image[i])) &&
  (a.pixelValues ?? []).length === (b.pixelValues ?? []).length &&
  (a.pixelValues ?? new Float32Array()).every((v, i) => Object.is(v, b.pixelValues![i])) &&
  JSON.stringify(a.captions) === JSON.stringify(b.captions);
