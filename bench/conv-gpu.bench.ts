/**
 * conv2d on the GPU (groups 1: the implicit-GEMM tensor-core kernel; VLV_CONV=im2col in the
 * environment times the im2col + GEMM path instead; grouped: im2col) against
 * torch.nn.functional.conv2d (cuDNN) on the same card in the same run
 * (bench/peers/torch_conv_gpu.py): the SD UNet's 3x3 convolutions at each level (batch 2: the
 * guided pair; [2,320,64,64], [2,640,32,32], [2,1280,16,16]), its 1x1 shortcuts, a stride-2
 * downsample, a depthwise 3x3, and the resnet block's fused group_norm(32)+SiLU+3x3 conv
 * (group_norm_conv2d) against torch's group_norm + silu + conv2d; bf16; forward timed with
 * device events, with the im2col path's time beside each groups-1 row (a child process run with
 * VLV_CONV=im2col). Ratio = torch ms / ours ms (> 1: ours faster). Not yet run on a GPU.
 */
import { cuda, info, Tensor } from '../lib/index.js';
import { runOpSync } from '../lib/ops.js';
import { row, runChild, runPeer, type BenchContext, type BenchRow } from './lib.js';

// fused: group_norm(32 groups) + SiLU before the conv (group_norm_conv2d).
interface Case {
  N: number;
  Cin: number;
  H: number;
  Cout: number;
  k: number;
  stride: number;
  groups: number;
  fused: boolean;
  reps: number;
  note: string;
}

function cases(quick: boolean): Case[] {
  const mk = (
    Cin: number,
    H: number,
    Cout: number,
    k: number,
    stride: number,
    groups: number,
    note: string,
    fused = false,
  ): Case => ({
    N: 2,
    Cin,
    H,
    Cout,
    k,
    stride,
    groups,
    fused,
    reps: quick ? 2 : 20,
    note,
  });
  if (quick) return [mk(64, 32, 64, 3, 1, 1, '3x3'), mk(64, 32, 64, 3, 1, 1, 'GN+SiLU+3x3', true)];
  return [
    mk(320, 64, 320, 3, 1, 1, 'UNet 3x3 320'),
    mk(640, 32, 640, 3, 1, 1, 'UNet 3x3 640'),
    mk(1280, 16, 1280, 3, 1, 1, 'UNet 3x3 1280'),
    mk(320, 64, 320, 1, 1, 1, 'UNet 1x1 320'),
    mk(320, 32, 640, 1, 1, 1, 'UNet 1x1 shortcut 320->640'),
    mk(640, 16, 1280, 1, 1, 1, 'UNet 1x1 shortcut 640->1280'),
    mk(320, 64, 320, 3, 2, 1, 'downsample 3x3 s2'),
    mk(256, 96, 256, 3, 1, 256, 'depthwise 3x3'),
    mk(320, 64, 320, 3, 1, 1, 'resnet GN+SiLU+3x3 320', true),
    mk(640, 32, 640, 3, 1, 1, 'resnet GN+SiLU+3x3 640', true),
    mk(1280, 16, 1280, 3, 1, 1, 'resnet GN+SiLU+3x3 1280', true),
  ];
}

async function input(shape: number[]): Promise<Tensor> {
  const n = shape.reduce((a, b) => a * b, 1);
  const t = await Tensor.from(
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)),
    shape,
  ).to('cuda');
  return runOpSync('cast', [t], { dtype: 'bf16' })[0]!;
}

async function oursMs(c: Case): Promise<number> {
  const x = await input([c.N, c.Cin, c.H, c.H]),
    w = await input([c.Cout, c.Cin / c.groups, c.k, c.k]),
    b = await input([c.Cout]);
  const gw = await input([c.Cin]),
    gb = await input([c.Cin]);
  const attrs = { stride: c.stride, padding: (c.k - 1) / 2, groups: c.groups };
  const call = c.fused
    ? () =>
        runOpSync('group_norm_conv2d', [x, gw, gb, w, b], {
          ...attrs,
          normGroups: 32,
          eps: 1e-5,
          silu: 1,
        })[0]!.dispose()
    : () => runOpSync('conv2d', [x, w, b], attrs)[0]!.dispose();
  call();
  cuda.synchronize();
  const times: number[] = [];
  for (let r = 0; r < c.reps; r++) times.push(cuda.time(call, 1));
  for (const t of [x, w, b, gw, gb]) t.dispose();
  return times.sort((p, q) => p - q)[Math.floor(times.length / 2)]!;
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const i = info();
  if (!i.cuda.available) return [row('conv2d gpu', '-', 0, 'ms', null, null, false, `CUDA off: ${i.cuda.reason}`)];
  const cs = cases(ctx.quick);
  const peer = runPeer<{ ms: number[]; torch: string; device: string }>('torch_conv_gpu.py', { cases: cs });
  // The im2col + GEMM path (VLV_CONV=im2col) in a child process, for the before / after.
  const im2col = process.env.VLV_CONV
    ? null
    : runChild<number[]>(import.meta.filename, '--im2col-child', { VLV_CONV: 'im2col' }, cs);
  const rows: BenchRow[] = [];
  for (const [k, c] of cs.entries()) {
    const op = c.fused ? 'group_norm_conv2d' : 'conv2d';
    const shape = `${c.N}x${c.Cin}x${c.H}x${c.H} -> ${c.Cout} k${c.k} s${c.stride} g${c.groups}${process.env.VLV_CONV ? ` VLV_CONV=${process.env.VLV_CONV}` : ''}`;
    const peerName = peer ? `torch ${peer.torch} ${c.fused ? 'group_norm+silu+cudnn' : 'cudnn'}` : null;
    rows.push(row(`${op} bf16 gpu`, shape, await oursMs(c), 'ms', peerName, peer ? peer.ms[k]! : null, false, c.note));
    if (im2col && c.groups === 1)
      rows.push(
        row(
          `${op} bf16 gpu im2col`,
          shape,
          im2col[k]!,
          'ms',
          peerName,
          peer ? peer.ms[k]! : null,
          false,
          `${c.note}; VLV_CONV=im2col`,
        ),
      );
  }
  if (peer) console.log(`device: ${peer.device}`);
  return rows;
}

if (process.argv[2] === '--im2col-child') {
  const cs = JSON.parse(process.argv[3]!) as Case[];
  const ms: number[] = [];
  for (const c of cs) ms.push(await oursMs(c));
  console.log(JSON.stringify(ms));
}
