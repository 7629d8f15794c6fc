/**
 * Learning-rate schedules as transformers' get_*_schedule_with_warmup build them (a LambdaLR
 * multiplier of the base lr): linear warmup from 0 over `warmup` steps, then constant, linear
 * decay to 0 at `total`, or a half cosine to 0 at `total`. Step s (0-based: the s-th optimizer
 * step of the run) uses the multiplier at s, as torch's scheduler does when it is stepped after
 * each optimizer step. A pure function of the step: resuming needs only the step count.
 */
import { VlvError } from '../errors.js';

export type ScheduleKind = 'constant' | 'linear' | 'cosine';
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['constant', 'linear', 'cosine'];

export interface Schedule {
  kind: ScheduleKind;
  /** Warmup steps (default 0). */
  warmup: number;
  /** The run's total optimizer steps (the end of the decay). */
  total: number;
  /** cosine: the number of waves (transformers' num_cycles, default 0.5: one half cosine down). */
  cycles?: number;
}

/** The multiplier of the base lr at step `step` (0-based). */
export function lrMultiplier(s: Schedule, step: number): number {
  const { kind, warmup, total } = s;
  if (step < warmup) return step / Math.max(1, warmup);
  switch (kind) {
    case 'constant':
      return 1;
    case 'linear':
      return Math.max(0, (total - step) / Math.max(1, total - warmup));
    case 'cosine': {
      const progress = (step - warmup) / Math.max(1, total - warmup);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * (s.cycles ?? 0.5) * 2 * progress)));
    }
  }
}

/** The lr of step `step`: base * multiplier. */
export function lrAt(s: Schedule, base: number, step: number): number {
  return base * lrMultiplier(s, step);
}

export function checkSchedule(s: Schedule): void {
  if (!SCHEDULE_KINDS.includes(s.kind))
    throw new VlvError('E_ARG', `schedule must be ${SCHEDULE_KINDS.join(' | ')}, got '${String(s.kind)}'`);
  if (!Number.isInteger(s.warmup) || s.warmup < 0)
    throw new VlvError('E_ARG', `warmup must be a non-negative integer, got ${s.warmup}`);
  if (!Number.isInteger(s.total) || s.total < 1)
    throw new VlvError('E_ARG', `the total step count must be a positive integer, got ${s.total}`);
}
