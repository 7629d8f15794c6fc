/**
 * Child process of thread-counts.ts: runs one family's ops, forward and backward, on tensors
 * large enough to be split over the pool, and prints a SHA-256 of every result's bytes.
 * Family "activation-values" prints the sigmoid-based activations' outputs and gradients
 * as JSON instead, for comparing SIMD levels (VLV_SIMD) within a tolerance.
 * Usage: node --import=tsx determinism-probe.ts elementwise|activation|reduce|activation-values
 */
import { createHash } from 'node:crypto';
import { backward, ops, Tensor } from '../../lib/index.js';
import { lcgValues } from './thread-counts.js';

function leaf(n: number[], seed: number, scale = 1): Tensor {
  const t = Tensor.from(
    lcgValues(
      n.reduce((a, b) => a * b, 1),
      seed,
      scale,
    ),
    n,
  );
  t.requiresGrad = true;
  return t;
}

async function probe(name: string, inputs: Tensor[], f: () => Promise<Tensor>): Promise<string> {
  const y = await f();
  await backward(await ops.sum(y));
  const h = createHash('sha256');
  h.update(y.toArray() as Uint8Array);
  for (const x of inputs) h.update(x.grad!.toArray() as Uint8Array);
  return `${name} ${h.digest('hex').slice(0, 16)}`;
}

const family = process.argv[2];
const lines: string[] = [];
if (family === 'elementwise') {
  const a = leaf([257, 513], 1);
  const b = leaf([513], 2);
  const c = leaf([257, 1], 3, 4);
  lines.push(await probe('mul_bias', [a, b], () => ops.mul(a, b)));
  lines.push(await probe('div_col', [a, c], () => ops.div(a, c)));
  lines.push(await probe('sub_same', [a], () => ops.sub(a, a)));
  lines.push(await probe('scale', [a], () => ops.scale(a, 1.5, -2)));
  lines.push(await probe('cast', [a], async () => ops.cast(await ops.cast(a, 'bf16'), 'f32')));
} else if (family === 'activation') {
  const x = leaf([129, 1030], 4, 8);
  const u = leaf([129, 1030], 5);
  lines.push(await probe('gelu', [x], () => ops.gelu(x)));
  lines.push(await probe('gelu_tanh', [x], () => ops.gelu(x, 'tanh')));
  lines.push(await probe('silu', [x], () => ops.silu(x)));
  lines.push(await probe('quick_gelu', [x], () => ops.quickGelu(x)));
  lines.push(await probe('geglu', [x], () => ops.geglu(x)));
  lines.push(await probe('swiglu', [x, u], () => ops.swiglu(x, u)));
} else if (family === 'reduce') {
  const x = leaf([61, 33, 129], 6);
  const y = leaf([61, 33, 129], 7);
  const logits = leaf([517, 301], 8, 5);
  const targets = Tensor.from(
    Int32Array.from({ length: 517 }, (_, i) => (i % 7 === 3 ? -100 : (i * 37) % 301)),
    [517],
  );
  lines.push(await probe('sum_all', [x], () => ops.sum(x)));
  lines.push(await probe('mean_0_2', [x], () => ops.mean(x, [0, 2])));
  lines.push(await probe('sum_0_keep', [x], () => ops.sum(x, [0], true)));
  lines.push(await probe('mean_last', [x], () => ops.mean(x, [-1])));
  lines.push(await probe('mse', [x, y], () => ops.mseLoss(x, y)));
  lines.push(await probe('ce', [logits], () => ops.crossEntropy(logits, targets)));
} else if (family === 'activation-values') {
  const x = Tensor.from(Float32Array.from({ length: 4099 }, (_, i) => -12 + (24 * i) / 4098));
  const out: Record<string, number[]> = {};
  for (const [name, f] of [
    ['silu', (t: Tensor) => ops.silu(t)],
    ['quick_gelu', (t: Tensor) => ops.quickGelu(t)],
    ['gelu_tanh', (t: Tensor) => ops.gelu(t, 'tanh')],
  ] as const) {
    const leafX = Tensor.from(x.toArray());
    leafX.requiresGrad = true;
    const y = await f(leafX);
    await backward(await ops.sum(y));
    out[name] = [...(y.toArray() as Float32Array)];
    out[`${name}_grad`] = [...(leafX.grad!.toArray() as Float32Array)];
  }
  lines.push(JSON.stringify(out));
} else {
  throw new Error(`unknown family ${family}`);
}
console.log(lines.join('\n'));
