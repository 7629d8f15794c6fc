/** Shared by test/ops/gemm.test.ts and its child process (gemm-child.ts): seeded inputs and a runner. */
import { ops, Tensor } from '../../lib/index.js';

/** Uniform [-1, 1) floats from a seed (mulberry32). */
export function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

export const COMBOS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

/** One matmul case: inputs from seeds `seed` (a) and `seed + 1` (b). */
export interface MatmulCase {
  M: number;
  K: number;
  N: number;
  ta: boolean;
  tb: boolean;
  alpha?: number;
  seed: number;
}

export async function runMatmul(
  c: MatmulCase,
): Promise<{ a: Float32Array; b: Float32Array; c: Float32Array; shape: number[] }> {
  const { M, K, N, ta, tb, seed } = c;
  const a = rand(M * K, seed);
  const b = rand(K * N, seed + 1);
  const out = await ops.matmul(Tensor.from(a, ta ? [K, M] : [M, K]), Tensor.from(b, tb ? [N, K] : [K, N]), {
    transA: ta,
    transB: tb,
    alpha: c.alpha ?? 1,
  });
  return { a, b, c: out.toArray() as Float32Array, shape: out.shape };
}
