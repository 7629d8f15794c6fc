import type { Tensor } from '../../lib/index.js';

export interface Diff {
  rel: number; // ||a - b||_2 / ||b||_2 (0 when both are zero)
  maxAbs: number;
  nonFinite: number; // entries where a is NaN/inf but b is finite
}

export function diff(actual: ArrayLike<number>, expected: ArrayLike<number>): Diff {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let num = 0;
  let den = 0;
  let maxAbs = 0;
  let nonFinite = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    if (!Number.isFinite(a) && Number.isFinite(b)) nonFinite++;
    if (!Number.isFinite(b) && a === b) continue; // matching inf
    const d = a - b;
    num += d * d;
    den += b * b;
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  const rel = den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
  return { rel, maxAbs, nonFinite };
}

/** Tensor values as float64 numbers (via the engine's cast for 16-bit and integer types). */
export function values(t: Tensor): Float64Array {
  const d = t.dtype;
  if (d === 'f64') return t.toArray() as Float64Array;
  if (d === 'i64') return Float64Array.from(t.toArray() as BigInt64Array, Number);
  if (d === 'i32' || d === 'u8' || d === 'bool') return Float64Array.from(t.toArray() as Int32Array);
  return Float64Array.from(t.toFloat32());
}
