/**
 * Runs test/helpers/determinism-probe.ts in child processes with VLV_NUM_THREADS (a fresh
 * pool each time) or VLV_SIMD set, and returns what each printed.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { info, setNumThreads } from '../../lib/index.js';

/** The probe's output with extra environment variables. */
export function runProbe(family: string, env: Record<string, string>): string {
  const script = join(import.meta.dirname, 'determinism-probe.ts');
  return execFileSync(process.execPath, ['--import=tsx', script, family], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
}

export function probeUnderThreadCounts(family: string, counts: readonly number[]): string[] {
  return counts.map((n) => runProbe(family, { VLV_NUM_THREADS: String(n) }));
}

/** Deterministic pseudo-random f32 values in [-scale, scale) (a small LCG; no engine RNG). */
export function lcgValues(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * 2 * scale;
  }
  return a;
}

/** Runs fn with the engine's pool at each thread count in turn (in this process), then restores it. */
export async function atThreadCounts<T>(counts: readonly number[], fn: () => Promise<T>): Promise<T[]> {
  const before = info().threads;
  const out: T[] = [];
  try {
    for (const n of counts) {
      setNumThreads(n);
      out.push(await fn());
    }
  } finally {
    setNumThreads(before);
  }
  return out;
}
