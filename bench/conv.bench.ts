/**
 * conv2d (3x3 stride 1 pad 1 and 1x1 at 64x64, SD UNet sizes) and group_norm+SiLU against
 * PyTorch CPU (torch.set_num_threads(2)) in the same run. ratio = torch time / ours (> 1: we
 * are faster).
 */
import { ops, Tensor } from '../lib/index.js';
import { row, runPeer, timeMs, type BenchContext, type BenchRow } from './lib.js';

interface ConvCase {
  op: 'conv2d';
  x: number[];
  w: number[];
  stride: number;
  padding: number;
}
interface GnCase {
  op: 'group_norm_silu';
  x: number[];
  groups: number;
}
type Case = ConvCase | GnCase;

const rand = (shape: number[]) => {
  const n = shape.reduce((a, d) => a * d, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 12.9898) * 0.5;
  return Tensor.from(a, shape);
};

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const s = ctx.quick ? 16 : 64;
  const conv3 = (c: number): ConvCase => ({ op: 'conv2d', x: [1, c, s, s], w: [c, c, 3, 3], stride: 1, padding: 1 });
  const cases: Case[] = ctx.quick
    ? [conv3(64), { op: 'group_norm_silu', x: [1, 64, s, s], groups: 32 }]
    : [
        conv3(64),
        conv3(128),
        conv3(320),
        { op: 'conv2d', x: [1, 320, s, s], w: [320, 320, 1, 1], stride: 1, padding: 0 },
        { op: 'group_norm_silu', x: [1, 320, s, s], groups: 32 },
      ];
  const reps = ctx.quick ? 1 : 5;
  const peer = ctx.hasTorch ? runPeer<{ ms: number[] }>('torch_conv.py', { reps, cases }) : null;
  const rows: BenchRow[] = [];
  for (const [i, c] of cases.entries()) {
    const x = rand(c.x);
    const peerMs = peer?.ms[i] ?? null;
    const shape = c.x.join('x');
    if (c.op === 'conv2d') {
      const w = rand(c.w);
      const b = rand([c.w[0]!]);
      const ms = await timeMs(
        async () => (await ops.conv2d(x, w, b, { stride: c.stride, padding: c.padding })).dispose(),
        reps,
      );
      const [, , kh, kw] = c.w;
      const flops = 2 * c.w[0]! * c.x[1]! * kh! * kw! * c.x[2]! * c.x[3]!;
      const gflops = flops / (ms * 1e6);
      const name = `conv2d ${kh}x${kw} ${c.x[1]}->${c.w[0]}`;
      rows.push(
        row(name, shape, ms, 'ms', peerMs == null ? null : 'torch 1.13', peerMs, false, `${gflops.toFixed(1)} GFLOP/s`),
      );
      w.dispose();
      b.dispose();
    } else {
      const ch = c.x[1]!;
      const w = rand([ch]);
      const b = rand([ch]);
      const ms = await timeMs(
        async () => (await ops.groupNorm(x, w, b, { groups: c.groups, eps: 1e-6, silu: true })).dispose(),
        reps,
      );
      rows.push(
        row(`group_norm+silu g${c.groups}`, shape, ms, 'ms', peerMs == null ? null : 'torch 1.13', peerMs, false),
      );
      w.dispose();
      b.dispose();
    }
    x.dispose();
  }
  return rows;
}
