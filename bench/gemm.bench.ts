/**
 * f32 GEMM throughput (GFLOP/s, median) of vlv's matmul against OpenBLAS (Debian's
 * libopenblas, through bench/peers/openblas_gemm.c compiled here with gcc) and torch.matmul
 * (bench/peers/torch_gemm.py), all with the same thread count, in the same run.
 * Shapes: cubes, the CLIP-size linear (77 x 1024 -> 4096) and a UNet-size one (4096 x 320 ->
 * 320), both as x @ w^T like linear; and 1024^3 on one thread (ours in a child process with
 * VLV_NUM_THREADS=1, so this process's pool is left alone). Ours runs through runOpSync (the
 * op with its output allocation, without the event-loop hop). The machine is shared: each of
 * ours / OpenBLAS / torch is measured in 3 interleaved rounds and the median round is kept.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { info, ops, Tensor } from '../lib/index.js';
import { peerEnv, row, runPeer, timeMs, type BenchContext, type BenchRow } from './lib.js';

interface Case {
  M: number;
  K: number;
  N: number;
  transB: boolean;
  reps: number;
  note?: string;
}

const flops = (c: Case) => 2 * c.M * c.K * c.N;
const label = (c: Case) => `${c.M}x${c.K}x${c.N}${c.transB ? ' (b^T)' : ''}`;

function cases(quick: boolean): { all: Case[]; single: Case[] } {
  const reps = (f: number) => (quick ? 2 : Math.max(5, Math.min(100, Math.floor(3e9 / f))));
  const mk = (M: number, K: number, N: number, transB: boolean, note?: string): Case => ({
    M,
    K,
    N,
    transB,
    reps: reps(2 * M * K * N),
    ...(note ? { note } : {}),
  });
  if (quick) return { all: [mk(256, 256, 256, false)], single: [] };
  return {
    all: [
      mk(256, 256, 256, false),
      mk(512, 512, 512, false),
      mk(1024, 1024, 1024, false),
      mk(2048, 2048, 2048, false),
      mk(77, 1024, 4096, true, 'CLIP linear'),
      mk(4096, 320, 320, true, 'UNet linear'),
    ],
    single: [mk(1024, 1024, 1024, false, '1 thread')],
  };
}

/** Ours in this process (exported for the one-thread child). */
export async function oursGflops(c: Case): Promise<number> {
  const a = Tensor.from(
    new Float32Array(c.M * c.K).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5),
    [c.M, c.K],
  );
  const bShape = c.transB ? [c.N, c.K] : [c.K, c.N];
  const b = Tensor.from(
    new Float32Array(c.K * c.N).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5),
    bShape,
  );
  const attrs = { transA: false, transB: c.transB, alpha: 1 };
  const ms = await timeMs(() => ops.runOpSync('matmul', [a, b], attrs)[0]!.dispose(), c.reps, 1);
  a.dispose();
  b.dispose();
  return flops(c) / ms / 1e6;
}

/** Ours on one thread: the same measurement in a child process with VLV_NUM_THREADS=1. */
function oursGflopsOneThread(cs: Case[]): (number | null)[] {
  if (cs.length === 0) return [];
  const self = pathToFileURL(join(import.meta.dirname, 'gemm.bench.ts')).href;
  const script = `import { oursGflops } from ${JSON.stringify(self)};
    const out = []; for (const c of ${JSON.stringify(cs)}) out.push(await oursGflops(c));
    console.log(JSON.stringify(out));`;
  try {
    const stdout = execFileSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, VLV_NUM_THREADS: '1' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return JSON.parse(stdout.trim().split('\n').pop()!) as number[];
  } catch (e) {
    console.error(`one-thread child failed: ${(e as Error).message.split('\n')[0]}`);
    return cs.map(() => null);
  }
}

/** OpenBLAS GFLOP/s per case, or nulls when gcc or libopenblas is missing. */
function openblasGflops(cs: Case[], threads: number): (number | null)[] {
  if (cs.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'vlv-openblas-'));
  try {
    const exe = join(dir, 'openblas_gemm');
    execFileSync('gcc', ['-O2', '-o', exe, join(import.meta.dirname, 'peers', 'openblas_gemm.c'), '-lopenblas'], {
      stdio: 'ignore',
    });
    const args = [String(threads), ...cs.map((c) => `${c.M},${c.K},${c.N},${c.transB ? 1 : 0},${c.reps}`)];
    const out = execFileSync(exe, args, {
      encoding: 'utf8',
      env: peerEnv({ OPENBLAS_NUM_THREADS: String(threads) }),
    });
    return (JSON.parse(out) as { gflops: number[] }).gflops;
  } catch (e) {
    console.error(`openblas peer failed: ${(e as Error).message.split('\n')[0]}`);
    return cs.map(() => null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function torchGflops(ctx: BenchContext, cs: Case[], threads: number): (number | null)[] {
  if (!ctx.hasTorch || cs.length === 0) return cs.map(() => null);
  const shapes = cs.map((c) => ({ M: c.M, K: c.K, N: c.N, trans_b: c.transB ? 1 : 0, reps: c.reps }));
  return runPeer<{ gflops: number[] }>('torch_gemm.py', { threads, shapes })?.gflops ?? cs.map(() => null);
}

const median = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x != null).sort((p, q) => p - q);
  return v.length ? v[Math.floor(v.length / 2)]! : null;
};

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const { all, single } = cases(ctx.quick);
  const threads = info().threads;
  const rounds = ctx.quick ? 1 : 3;
  const n = all.length + single.length;
  const ours: (number | null)[][] = [];
  const blas: (number | null)[][] = [];
  const torch: (number | null)[][] = [];
  for (let r = 0; r < rounds; r++) {
    const mine: (number | null)[] = [];
    for (const c of all) mine.push(await oursGflops(c));
    ours.push([...mine, ...oursGflopsOneThread(single)]);
    blas.push([...openblasGflops(all, threads), ...openblasGflops(single, 1)]);
    torch.push([...torchGflops(ctx, all, threads), ...torchGflops(ctx, single, 1)]);
  }
  const pick = (m: (number | null)[][], i: number) => median(m.map((round) => round[i] ?? null));
  const rows: BenchRow[] = [];
  [...all, ...single].slice(0, n).forEach((c, i) => {
    const v = pick(ours, i) ?? 0;
    const note = [c.note, i < all.length ? `${threads} threads` : undefined].filter(Boolean).join(', ');
    rows.push(row('gemm f32', label(c), v, 'GFLOP/s', 'openblas', pick(blas, i), true, note));
    rows.push(row('gemm f32', label(c), v, 'GFLOP/s', 'torch 1.13', pick(torch, i), true, note));
  });
  return rows;
}
