/**
 * Fused attention (ops.attention) forward and backward, ms, against PyTorch 1.13 CPU's
 * matmul -> softmax -> matmul (and its autograd backward) on 2 threads, same shapes.
 * ratio = torch ms / ours (> 1: we are faster).
 */
import { backward, ops, Tensor } from '../lib/index.js';
import { row, runPeer, timeMs, type BenchContext, type BenchRow } from './lib.js';

type Shape = [b: number, h: number, lq: number, lk: number, d: number];

const FULL: Shape[] = [
  [1, 8, 77, 77, 64],
  [1, 8, 256, 256, 64],
  [1, 8, 1024, 1024, 64],
  [1, 8, 4096, 4096, 64],
  [1, 8, 256, 256, 128],
  [1, 8, 1024, 1024, 128],
  [1, 8, 4096, 77, 64],
];
const QUICK: Shape[] = [[1, 2, 77, 77, 64]];

function randn(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32 - 0.5;
  }
  return Tensor.from(data, shape);
}

/** Median ms of backward alone: each rep runs an untimed forward first. */
async function backwardMs(q: Tensor, k: Tensor, v: Tensor, gout: Tensor, reps: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const { out, lse } = await ops.attention(q, k, v);
    const t0 = process.hrtime.bigint();
    await backward(out, gout);
    if (i > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    for (const t of [out, lse, q.grad, k.grad, v.grad]) t?.dispose();
    for (const t of [q, k, v]) t.zeroGrad();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const shapes = ctx.quick ? QUICK : FULL;
  const rows: BenchRow[] = [];
  for (const [b, h, lq, lk, d] of shapes) {
    // The peer runs right before ours, shape by shape, so both see the same machine load.
    const reps = ctx.quick ? 1 : b * h * lq * lk * d > 1e9 ? 5 : 11;
    const p = ctx.hasTorch
      ? runPeer<{ fwd_ms: number; bwd_ms: number }[]>('torch_attention.py', {
          shapes: [[b, h, lq, lk, d]],
          reps,
          threads: 2,
        })?.[0]
      : undefined;
    const q = randn([b, h, lq, d], 1);
    const k = randn([b, h, lk, d], 2);
    const v = randn([b, h, lk, d], 3);
    const gout = randn([b, h, lq, d], 4);
    const shape = `${b}x${h}x${lq}x${lk}x${d}`;
    const fwd = await timeMs(async () => {
      const { out, lse } = await ops.attention(q, k, v);
      out.dispose();
      lse.dispose();
    }, reps);
    rows.push(row('attention fwd', shape, fwd, 'ms', p ? 'torch 1.13' : null, p?.fwd_ms ?? null, false));
    for (const t of [q, k, v]) t.requiresGrad = true;
    const bwd = await backwardMs(q, k, v, gout, reps);
    rows.push(row('attention bwd', shape, bwd, 'ms', p ? 'torch 1.13' : null, p?.bwd_ms ?? null, false));
    for (const t of [q, k, v, gout]) t.dispose();
  }
  return rows;
}
