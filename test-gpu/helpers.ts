/** Shared by the GPU tests: CPU vs CUDA comparison of one op call, forward and backward. */
import { backward, Tensor, cuda } from '../lib/index.js';
import { runOp } from '../lib/ops.js';
import type { Options } from '../lib/options.js';
import { diff, values } from '../test/helpers/compare.js';

export const F32_TOL = 1e-5;
export const BF16_TOL = 1e-2;

export interface Comparison {
  what: string;
  rel: number;
  nonFinite: number;
}

/** A fresh copy of t on `device` with requiresGrad as asked (inputs of one run). */
async function leaf(t: Tensor | null, device: 'cpu' | 'cuda', grad: boolean): Promise<Tensor | null> {
  if (!t) return null;
  // A real copy on both devices: in-place ops (adamw, clip_grad_norm) must not touch `t`.
  const fresh = device === 'cpu' ? Tensor.from((await t.to('cpu')).toArray(), t.shape, t.dtype) : await t.to('cuda');
  if (grad && (fresh.dtype === 'f32' || fresh.dtype === 'bf16' || fresh.dtype === 'f16')) fresh.requiresGrad = true;
  return fresh;
}

/**
 * Runs op on the CPU and on CUDA with the same inputs (and, with `gradOut`, the same output
 * gradients through backward), returning the relative L2 error of every CUDA output,
 * gradient and in-place-updated input against the CPU's.
 */
export async function compareDevices(
  op: string,
  inputs: (Tensor | null)[],
  attrs: Options,
  opts: { grad?: boolean; inPlace?: boolean; cpuInputs?: (Tensor | null)[] } = {},
): Promise<Comparison[]> {
  const run = async (device: 'cpu' | 'cuda', src: (Tensor | null)[]) => {
    const ins = await Promise.all(src.map((t) => leaf(t, device, !!opts.grad)));
    const outs = await runOp(op, ins, attrs);
    const grads: (Tensor | null)[] = [];
    if (opts.grad) {
      const roots = outs.filter((o) => o.requiresGrad);
      // A fixed pseudo-random output gradient, the same on both devices.
      const resolved = await Promise.all(
        roots.map(async (o, k) => {
          const n = o.shape.reduce((a, b) => a * b, 1);
          const g = await Tensor.from(
            Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + k) * 0.5),
            o.shape,
          ).to(device);
          return o.dtype === 'f32' ? g : (await runOp('cast', [g], { dtype: o.dtype }))[0]!;
        }),
      );
      if (roots.length) await backward(roots, resolved);
      for (const t of ins) grads.push(t?.requiresGrad ? t.grad : null);
    }
    return { ins, outs, grads };
  };
  const cpu = await run('cpu', opts.cpuInputs ?? inputs);
  cuda.synchronize();
  const gpu = await run('cuda', inputs);
  cuda.synchronize();
  const out: Comparison[] = [];
  const cmp = (what: string, a: Tensor | null, b: Tensor | null) => {
    if (!a || !b) {
      if (a || b) out.push({ what: `${what} (defined on one device only)`, rel: Infinity, nonFinite: 0 });
      return;
    }
    if (JSON.stringify(a.shape) !== JSON.stringify(b.shape)) {
      out.push({ what: `${what} shape [${a.shape.join(',')}] vs [${b.shape.join(',')}]`, rel: Infinity, nonFinite: 0 });
      return;
    }
    const d = diff(values(a), values(b));
    out.push({ what, rel: d.rel, nonFinite: d.nonFinite });
  };
  gpu.outs.forEach((o, i) => cmp(`out.${i}`, o, cpu.outs[i] ?? null));
  if (opts.grad) gpu.grads.forEach((g, i) => cmp(`grad.${i}`, g, cpu.grads[i] ?? null));
  if (opts.inPlace) gpu.ins.forEach((t, i) => cmp(`after.${i}`, t, cpu.ins[i] ?? null));
  for (const t of [...cpu.ins, ...cpu.outs, ...gpu.ins, ...gpu.outs]) t?.dispose();
  return out;
}

/** Uniform numbers in [-s, s) from a small LCG: fresh per call (seeded by the clock). */
let state = (Date.now() ^ (process.pid << 8)) >>> 0;
export function randomF32(shape: readonly number[], s = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    a[i] = ((state / 2 ** 32) * 2 - 1) * s;
  }
  return Tensor.from(a, shape);
}
export function randomIds(n: number, vocab: number): Tensor {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    a[i] = state % vocab;
  }
  return Tensor.from(a, [n], 'i32');
}
export function randomBool(shape: readonly number[], pTrue = 0.7): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    a[i] = state / 2 ** 32 < pTrue ? 1 : 0;
  }
  return Tensor.from(a, shape, 'bool');
}
