/**
 * GEMM on the GPU (npm run bench:gpu): vlv's matmul / linear on CUDA (cuBLAS when found at
 * run time, and the own mma.sync kernels in a child process with VLV_GEMM=own) against
 * torch.matmul on the same card in the same run (bench/peers/torch_matmul_gpu.py), TFLOP/s
 * from device events (median of reps, 3 rotating input sets), ratio = ours / torch; the
 * "ceiling" is the fastest rate torch reached in this run. Shapes: 4096^3 and model shapes
 * (Qwen2.5-3B MLP 2048x2048->11008, CLIP-H 77x1024->4096 batched, UNet 4096x320->1280).
 * Without a usable GPU it prints one row saying why. Not yet run on a GPU.
 */
import { cuda, info, Tensor } from '../lib/index.js';
import { runOpSync } from '../lib/ops.js';
import { row, runChild, runPeer, type BenchContext, type BenchRow } from './lib.js';

interface Case {
  M: number;
  K: number;
  N: number;
  dtype: 'bf16' | 'f16' | 'f32';
  transB: boolean;
  reps: number;
  note: string;
}

const flops = (c: Case) => 2 * c.M * c.K * c.N;

function cases(quick: boolean): Case[] {
  const mk = (M: number, K: number, N: number, dtype: Case['dtype'], transB: boolean, note: string): Case => ({
    M,
    K,
    N,
    dtype,
    transB,
    reps: quick ? 3 : 50,
    note,
  });
  if (quick) return [mk(1024, 1024, 1024, 'bf16', false, 'cube')];
  return [
    mk(4096, 4096, 4096, 'bf16', false, 'cube'),
    mk(4096, 4096, 4096, 'f16', false, 'cube'),
    mk(4096, 4096, 4096, 'f32', false, 'cube (exact f32)'),
    mk(2048, 2048, 11008, 'bf16', true, 'Qwen2.5-3B MLP up (linear)'),
    mk(2048, 11008, 2048, 'bf16', true, 'Qwen2.5-3B MLP down (linear)'),
    mk(616, 1024, 4096, 'bf16', true, 'CLIP-H MLP, 8x77 tokens (linear)'),
    mk(4096, 320, 1280, 'bf16', true, 'UNet 64x64 ff (linear)'),
  ];
}

/** Our median ms per call for one case, in this process (GEMM backend as found). */
async function oursMs(c: Case): Promise<number> {
  const mk = async (r: number, k: number) => {
    const t = await Tensor.from(
      Float32Array.from({ length: r * k }, (_, i) => Math.sin(i * 0.7)),
      [r, k],
    ).to('cuda');
    return c.dtype === 'f32' ? t : runOpSync('cast', [t], { dtype: c.dtype })[0]!;
  };
  const sets: (readonly [Tensor, Tensor])[] = [];
  for (let i = 0; i < 3; i++) sets.push([await mk(c.M, c.K), c.transB ? await mk(c.N, c.K) : await mk(c.K, c.N)]);
  const call = (i: number) => {
    const [a, b] = sets[i % 3]!;
    runOpSync('matmul', [a, b], { transB: c.transB ? 1 : 0 })[0]!.dispose();
  };
  for (let i = 0; i < 3; i++) call(i);
  cuda.synchronize();
  const times: number[] = [];
  for (let r = 0; r < c.reps; r++) times.push(cuda.time(() => call(r), 1));
  times.sort((x, y) => x - y);
  for (const s of sets) for (const t of s) t.dispose();
  return times[Math.floor(times.length / 2)]!;
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const i = info();
  if (!i.cuda.available) return [row('gemm gpu', '-', 0, 'TFLOP/s', null, null, true, `CUDA off: ${i.cuda.reason}`)];
  const cs = cases(ctx.quick);
  const peer = runPeer<{ ms: number[]; tflops: number[]; torch: string; device: string }>('torch_matmul_gpu.py', {
    shapes: cs.map((c) => ({ M: c.M, K: c.K, N: c.N, dtype: c.dtype, trans_b: c.transB, reps: c.reps })),
  });
  const ceiling = peer ? Math.max(...peer.tflops) : null;
  // The own kernels in a child process, so this process keeps the backend it found.
  const own = process.env.VLV_GEMM
    ? null
    : runChild<number[]>(import.meta.filename, '--own-child', { VLV_GEMM: 'own' }, cs);
  const backend = cuda.gemmBackend();
  const rows: BenchRow[] = [];
  for (const [k, c] of cs.entries()) {
    const shape = `${c.M}x${c.K}x${c.N}`;
    const tf = (ms: number) => flops(c) / (ms * 1e-3) / 1e12;
    const peerTf = peer ? peer.tflops[k]! : null;
    const pct = (v: number) => (ceiling ? ` ${((100 * v) / ceiling).toFixed(0)}% of ceiling` : '');
    const mine = tf(await oursMs(c));
    rows.push(
      row(
        `gemm ${c.dtype} ${backend.split(' ')[0]}`,
        shape,
        mine,
        'TFLOP/s',
        peer ? `torch ${peer.torch}` : null,
        peerTf,
        true,
        `${c.note};${pct(mine)}`,
      ),
    );
    if (own)
      rows.push(
        row(
          `gemm ${c.dtype} own mma.sync`,
          shape,
          tf(own[k]!),
          'TFLOP/s',
          peer ? `torch ${peer.torch}` : null,
          peerTf,
          true,
          `${c.note};${pct(tf(own[k]!))}`,
        ),
      );
  }
  if (peer)
    console.log(`device: ${peer.device}; ceiling (fastest torch rate this run): ${ceiling!.toFixed(1)} TFLOP/s`);
  return rows;
}

if (process.argv[2] === '--own-child') {
  const cs = JSON.parse(process.argv[3]!) as Case[];
  const ms: number[] = [];
  for (const c of cs) ms.push(await oursMs(c));
  console.log(JSON.stringify(ms));
}
