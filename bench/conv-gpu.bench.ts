/**
 * conv2d on the GPU (im2col + the part-1 GEMM) against torch.nn.functional.conv2d (cuDNN) on
 * the same card in the same run (bench/peers/torch_conv_gpu.py): the SD UNet's 3x3 and 1x1
 * convolutions at 64x64 latents (batch 2: the guided pair), a stride-2 downsample and a
 * depthwise 3x3; bf16; forward timed with device events. Ratio = torch ms / ours ms (> 1: ours
 * faster). Not yet run on a GPU.
 */
import { cuda, info, Tensor } from '../lib/index.js';
import { runOpSync } from '../lib/ops.js';
import { row, runPeer, type BenchContext, type BenchRow } from './lib.js';

interface Case { N: number; Cin: number; H: number; Cout: number; k: number; stride: number; groups: number; reps: number; note: string }

function cases(quick: boolean): Case[] {
  const mk = (Cin: number, H: number, Cout: number, k: number, stride: number, groups: number, note: string): Case => ({
    N: 2, Cin, H, Cout, k, stride, groups, reps: quick ? 2 : 20, note,
  });
  if (quick) return [mk(64, 32, 64, 3, 1, 1, '3x3')];
  return [mk(320, 64, 320, 3, 1, 1, 'UNet 3x3 320'), mk(640, 32, 640, 3, 1, 1, 'UNet 3x3 640'), mk(1280, 16, 1280, 3, 1, 1, 'UNet 3x3 1280'),
    mk(320, 64, 320, 1, 1, 1, 'UNet 1x1 320'), mk(320, 64, 320, 3, 2, 1, 'downsample 3x3 s2'), mk(256, 96, 256, 3, 1, 256, 'depthwise 3x3')];
}

function input(shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const t = Tensor.from(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)), shape).to('cuda');
  return runOpSync('cast', [t], { dtype: 'bf16' })[0]!;
}

function oursMs(c: Case): number {
  const x = input([c.N, c.Cin, c.H, c.H]), w = input([c.Cout, c.Cin / c.groups, c.k, c.k]), b = input([c.Cout]);
  const attrs = { stride: c.stride, padding: (c.k - 1) / 2, groups: c.groups };
  const call = () => runOpSync('conv2d', [x, w, b], attrs)[0]!.dispose();
  call();
  cuda.synchronize();
  const times: number[] = [];
  for (let r = 0; r < c.reps; r++) times.push(cuda.time(call, 1));
  for (const t of [x, w, b]) t.dispose();
  return times.sort((p, q) => p - q)[Math.floor(times.length / 2)]!;
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const i = info();
  if (!i.cuda.available) return [row('conv2d gpu', '-', 0, 'ms', null, null, false, `CUDA off: ${i.cuda.reason}`)];
  const cs = cases(ctx.quick);
  const peer = runPeer<{ ms: number[]; torch: string; device: string }>('torch_conv_gpu.py', { cases: cs });
  const rows = cs.map((c, k) =>
    row('conv2d bf16 gpu', `${c.N}x${c.Cin}x${c.H}x${c.H} -> ${c.Cout} k${c.k} s${c.stride} g${c.groups}`, oursMs(c), 'ms',
      peer ? `torch ${peer.torch} cudnn` : null, peer ? peer.ms[k]! : null, false, c.note));
  if (peer) console.log(`device: ${peer.device}`);
  return rows;
}
