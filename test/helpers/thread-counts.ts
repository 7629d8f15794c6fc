/**
 * Thread-count determinism: runs test/helpers/determinism-probe.ts in child processes with
 * VLV_NUM_THREADS set (a fresh pool each time), and returns what each printed.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export function probeUnderThreadCounts(family: string, counts: readonly number[]): string[] {
  const script = join(import.meta.dirname, 'determinism-probe.ts');
  return counts.map((n) =>
    execFileSync(process.execPath, ['--import=tsx', script, family], {
      env: { ...process.env, VLV_NUM_THREADS: String(n) },
      encoding: 'utf8',
    }),
  );
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
