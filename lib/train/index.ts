/**
 * Training VLV: `trainStage1`, `trainStage2`, the built-in model's decoder parts
 * (`trainTextToImage`, `trainVae`), and `train(kind, options, { signal, onProgress })`
 * (what `vlv train` runs). See loop.ts for a step, checkpoint.ts for what a checkpoint holds.
 */
import { VlvError } from '../errors.js';
import type { DryRunReport, TrainCallOptions, TrainResult } from './loop.js';
import { runTraining } from './loop.js';
import { TRAIN_KINDS, type TrainKind, type TrainOptions } from './options.js';
import { STAGE1 } from './stage1.js';
import { STAGE2 } from './stage2.js';
import { T2I } from './t2i.js';
import { VAE } from './vae.js';

const SPECS = { stage1: STAGE1, stage2: STAGE2, t2i: T2I, vae: VAE } as const;

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

/**
 * Text-to-image (diffusers' train_text_to_image.py): the UNet and the CLIP text encoder of a
 * diffusers pipeline on (image, caption) pairs; checkpoints are pipeline folders (lib/train/t2i.ts).
 */
export function trainTextToImage(options: TrainOptions, call: TrainCallOptions = {}): Promise<TrainResult> {
  return runTraining(T2I, { ...options, dryRun: false }, call) as Promise<TrainResult>;
}

/** AutoencoderKL reconstruction + KL; checkpoints are VAE folders (lib/train/vae.ts). */
export function trainVae(options: TrainOptions, call: TrainCallOptions = {}): Promise<TrainResult> {
  return runTraining(VAE, { ...options, dryRun: false }, call) as Promise<TrainResult>;
}

export type { DryRunReport, TrainCallOptions, TrainProgress, TrainResult } from './loop.js';
export type { TrainData, TrainKind, TrainOptions, RunSettings, T2iPart } from './options.js';
export { TRAIN_KINDS, T2I_PARTS } from './options.js';
export { captionDropped, dropCaptions } from './t2i.js';
export { klLoss } from './vae.js';
export { lrAt, lrMultiplier, type Schedule, type ScheduleKind } from './schedule.js';
export { listCheckpoints, readCheckpoint, readState, type CheckpointState } from './checkpoint.js';
export { setPathLoader } from './data.js';
