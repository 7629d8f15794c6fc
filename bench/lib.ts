/**
 * Benchmark plumbing shared by every bench/*.bench.ts: timing (median of several runs),
 * peers run in the same process tree (PyTorch CPU through Debian's /usr/bin/python3), rows.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BenchRow {
  name: string; // e.g. "gemm f32"
  shape: string; // e.g. "1024x1024x1024"
  value: number; // ours
  unit: string; // e.g. "GFLOP/s", "ms"
  peer: string | null; // e.g. "openblas", "torch 1.13"
  peerValue: number | null;
  /** ours / peer for rates (higher is better), peer / ours for times: > 1 means we are faster. */
  ratio: number | null;
  note?: string;
}

export interface BenchContext {
  /** quick: fewer repetitions and sizes (used by the smoke test). */
  quick: boolean;
  /** Whether a PyTorch peer can be run (Debian's python3-torch). */
  hasTorch: boolean;
}

/** Median wall time in ms of fn over `reps` runs after `warmup` runs. */
export async function timeMs(fn: () => unknown, reps = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export const PYTHON = '/usr/bin/python3';

/** Median, min and max of a list of run times. */
export function spread(times: number[]): { median: number; min: number; max: number } {
  const s = [...times].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
}

/** A field of /proc/self/status in KiB (VmRSS, VmHWM: the peak resident memory). */
export function statusKiB(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : NaN;
}
export const gib = (kib: number) => kib / 2 ** 20;

/**
 * The python3 on PATH (pyenv's, not Debian's) when it has PyTorch 2.x and transformers: the
 * peer of rows whose components come from transformers (Florence-2, CLIP, Qwen2). Else why not.
 */
export function hfPython(): { python: string; torch: string; transformers: string } | { why: string } {
  try {
    const out = execFileSync(
      'python3',
      ['-c', 'import sys, torch, transformers; print(sys.executable, torch.__version__, transformers.__version__)'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: peerEnv() },
    );
    const [python, torch, transformers] = out.trim().split(/\s+/) as [string, string, string];
    if (!torch.startsWith('2.')) return { why: `python3 has torch ${torch}, not 2.x` };
    return { python, torch, transformers };
  } catch {
    return { why: 'no python3 with torch and transformers (pip install torch transformers)' };
  }
}

export function torchAvailable(): boolean {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a bench file again in a child process, with `env` added and `[flag, JSON(payload)]` as
 * its arguments (an environment switch such as VLV_GEMM=own or VLV_CONV=im2col is read once
 * per process); the child prints one JSON value last. Null (said on stderr) when it fails.
 */
export function runChild<T>(file: string, flag: string, env: Record<string, string>, payload: unknown): T | null {
  try {
    const out = execFileSync(process.execPath, ['--import=tsx', file, flag, JSON.stringify(payload)], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    return JSON.parse(out.trim().split('\n').pop()!) as T;
  } catch (e) {
    console.error(`${flag} run failed: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

/**
 * The environment of a peer process: this machine's environment pins OpenBLAS to its AVX2
 * kernel (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, a workaround for old builds), which halves its
 * speed; a peer runs at full strength, so both are unset there (and only there).
 */
export function peerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/**
 * Runs bench/peers/<script> with a JSON request on argv[1]; the script prints one JSON value.
 * Returns null when the peer cannot run (then the row says so).
 */
export function runPeer<T>(script: string, request: unknown, python = PYTHON): T | null {
  try {
    const out = execFileSync(python, [join(import.meta.dirname, 'peers', script), JSON.stringify(request)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
      env: peerEnv(),
    });
    return JSON.parse(out.trim().split('\n').pop()!) as T;
  } catch (e) {
    console.error(`peer ${script} failed: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

export function row(
  name: string,
  shape: string,
  value: number,
  unit: string,
  peer: string | null,
  peerValue: number | null,
  higherIsBetter: boolean,
  note?: string,
): BenchRow {
  const ratio =
    peerValue == null || peerValue === 0 || value === 0 ? null : higherIsBetter ? value / peerValue : peerValue / value;
  return { name, shape, value, unit, peer, peerValue, ratio, ...(note ? { note } : {}) };
}
