/** Small helpers for focused op tests: seeded random tensors and one forward+backward run. */
import { backward, Tensor } from '../../lib/index.js';

/** Deterministic values in [-scale, scale) from a seed (a 32-bit LCG; not the engine's RNG). */
export function randArray(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return a;
}

export function randTensor(shape: number[], seed: number, scale = 1): Tensor {
  return Tensor.from(
    randArray(
      shape.reduce((p, d) => p * d, 1),
      seed,
      scale,
    ),
    shape,
  );
}

/**
 * Runs fn on fresh copies of `inputs` (null stays null) that require grad, back-propagates a
 * seeded random upstream gradient, and returns the output and every input gradient as arrays.
 */
export async function forwardBackward(
  fn: (xs: (Tensor | null)[]) => Promise<Tensor>,
  inputs: (Float32Array | null)[],
  shapes: number[][],
  seed = 99,
): Promise<{ out: Float32Array; grads: (Float32Array | null)[] }> {
  const xs = inputs.map((a, i) => {
    if (!a) return null;
    const t = Tensor.from(a, shapes[i]);
    t.requiresGrad = true;
    return t;
  });
  const y = await fn(xs);
  const gy = randTensor(y.shape, seed);
  await backward([y], [gy]);
  const out = y.toFloat32();
  const grads = xs.map((x) => (x?.grad ? x.grad.toFloat32() : null));
  for (const t of [...xs, y, gy]) t?.dispose();
  return { out, grads };
}
