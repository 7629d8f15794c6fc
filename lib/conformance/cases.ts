/**
 * One case of a golden folder's cases.json, and how its outputs are compared: the pieces the
 * runner (run.ts) and the components with their own per-step checks (schedulers.ts) share.
 */

export interface CaseSpec {
  name: string;
  call: string;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  tol: { rel?: number; exact?: boolean } & Record<string, unknown>;
  doc?: string;
  /** A tensor [d0, .., dk] of 0/1: compare only the output entries whose leading indices hold 1. */
  compare_where?: string;
  /** generate() keyword arguments of a decoding case. */
  generate?: Record<string, unknown>;
}

/** ‖a − b‖₂ / ‖b‖₂ and max |a − b| in float64 (NaN/inf in a where b is finite fail). */
export function compareValues(actual: ArrayLike<number>, expected: ArrayLike<number>): { rel: number; maxAbs: number } {
  if (actual.length !== expected.length) return { rel: Infinity, maxAbs: Infinity };
  let num = 0;
  let den = 0;
  let maxAbs = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = actual[i]! - expected[i]!;
    if (!Number.isFinite(d)) return { rel: Infinity, maxAbs: Infinity };
    num += d * d;
    den += expected[i]! * expected[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  return { rel: den === 0 ? Math.sqrt(num) : Math.sqrt(num / den), maxAbs };
}

/** The tolerance of one output: its own entry ({rel}, {exact: true} or "exact") wins over the case's. */
export function toleranceFor(c: CaseSpec, key: string): number {
  const own = c.tol[key] as { rel?: number; exact?: boolean } | string | undefined;
  if (own === 'exact') return 0;
  if (own && typeof own === 'object') return own.exact ? 0 : (own.rel ?? c.tol.rel ?? 1e-4);
  return c.tol.exact ? 0 : (c.tol.rel ?? 1e-4);
}
