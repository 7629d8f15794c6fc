/**
 * Training VLV: `trainStage1`, `trainStage2`, and `train(kind, options, { signal, onProgress })`
 * (what `vlv train` runs). See loop.ts for a step, checkpoint.ts for what a checkpoint holds.
 */
import { VlvError } from '../errors.js';
import type { DryRunReport, TrainCallOptions, TrainResult } from './loop.js';
import { runTraining } from './loop.js';
import { TRAIN_KINDS, type TrainKind, type TrainOptions } from './options.js';
import { STAGE1 } from './stage1.js';
import { STAGE2 } from './stage2.js';

const SPECS = { stage1: STAGE1, stage2: STAGE2 } as const;

export function train(
  kind: TrainKind,
  options: TrainOptions & { dryRun: true },
  call?: TrainCallOptions,
): Promise<DryRunReport>;
export function train(
  kind: TrainKind,
  options: TrainOptions & { dryRun?: false },
  call?: TrainCallOptions,
): Promise<TrainResult>;
export function train(
  kind: TrainKind,
  options: TrainOptions & { dryRun?: boolean },
  call?: TrainCallOptions,
): Promise<TrainResult | DryRunReport>;
export async function train(
  kind: TrainKind,
  options: TrainOptions & { dryRun?: boolean },
  call: TrainCallOptions = {},
): Promise<TrainResult | DryRunReport> {
  if (!(TRAIN_KINDS as readonly string[]).includes(kind))
    throw new VlvError('E_ARG', `train: kind must be ${TRAIN_KINDS.join(' | ')}, got '${String(kind)}'`);
  return runTraining(SPECS[kind], options, call);
}

/** Stage 1 (images through the frozen diffusion decoder). */
export function trainStage1(options: TrainOptions, call: TrainCallOptions = {}): Promise<TrainResult> {
  return runTraining(STAGE1, { ...options, dryRun: false }, call) as Promise<TrainResult>;
}

/** Stage 2 ((image, caption) pairs through the language model). */
export function trainStage2(options: TrainOptions, call: TrainCallOptions = {}): Promise<TrainResult> {
  return runTraining(STAGE2, { ...options, dryRun: false }, call) as Promise<TrainResult>;
}

export type { DryRunReport, TrainCallOptions, TrainProgress, TrainResult } from './loop.js';
export type { TrainData, TrainKind, TrainOptions, RunSettings } from './options.js';
export { TRAIN_KINDS } from './options.js';
export { lrAt, lrMultiplier, type Schedule, type ScheduleKind } from './schedule.js';
export { listCheckpoints, readCheckpoint, readState, type CheckpointState } from './checkpoint.js';
export { setPathLoader } from './data.js';
