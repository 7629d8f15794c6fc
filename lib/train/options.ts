/**
 * A training run's options: what a caller gives (TrainOptions), the official defaults of each
 * stage, a run.json config under the explicit options, and the resolved set a checkpoint stores.
 * On resume the stored values of everything that shapes the numbers win; giving a different
 * value for one of those is an E_ARG (the run would no longer be the one it continues).
 */
import { readFileSync } from 'node:fs';
import { VlvError } from '../errors.js';
import type { DataLoader, DataLoaderOptions } from '../data/types.js';
import { checkSchedule, SCHEDULE_KINDS, type ScheduleKind } from './schedule.js';

export type TrainKind = 'stage1' | 'stage2' | 't2i' | 'vae';
export const TRAIN_KINDS: readonly TrainKind[] = ['stage1', 'stage2', 't2i', 'vae'];

/** The parts text-to-image training can train. */
export type T2iPart = 'unet' | 'text_encoder';
export const T2I_PARTS: readonly T2iPart[] = ['unet', 'text_encoder'];

/** Training data: a path the data loaders read (an image folder, a JSONL/CSV of pairs, WebDataset shards), a loader, or a factory of one. */
export type TrainData = string | DataLoader | ((opts: DataLoaderOptions) => DataLoader | Promise<DataLoader>);

export interface TrainOptions {
  /**
   * stage1 / stage2: the base VLV folder (its frozen parts are referenced by checkpoints, never
   * copied). t2i: a diffusers pipeline folder (model_index.json), or its parts as
   * `unet=<dir>,vae=<dir>,text_encoder=<dir>,tokenizer=<dir>,scheduler=<dir>`. vae: a VAE folder
   * or a pipeline folder (its vae/).
   */
  model?: string;
  data?: TrainData;
  /** The run folder: checkpoints/, metrics.jsonl, loss.png, eval/. */
  out?: string;
  /** A checkpoint folder, or a run folder (its latest checkpoint), to continue from. */
  resume?: string;
  /** Optimizer steps of the run (default 1000). */
  steps?: number;
  /** Samples per micro-batch (default 4). */
  batch?: number;
  /** Micro-batches per optimizer step, losses averaged (default 1). */
  accum?: number;
  /** Stage 1: 5e-5, stage 2: 1e-5 (official); t2i, vae: 1e-4 (diffusers' train_text_to_image.py). */
  lr?: number;
  /** Stage 1: [0.9, 0.99], stage 2, t2i, vae: [0.9, 0.999]. */
  betas?: [number, number];
  eps?: number;
  /** 0.01 (official). */
  weightDecay?: number;
  /** No weight decay on biases and norm weights (default false: the official code decays everything). */
  noDecayNormsAndBiases?: boolean;
  /** Stage 1: cosine, stage 2: linear (official), t2i and vae: constant (diffusers). */
  schedule?: ScheduleKind;
  /** Warmup steps (default 0). */
  warmup?: number;
  /** Gradient clipping by global norm (default 1.0; 0 turns it off). */
  maxGradNorm?: number;
  /** EMA of the trainable weights: true (decay 0.9999) or the decay; saved in checkpoints. */
  ema?: boolean | number;
  /** Seeds the data order and every noise draw (default 0). */
  seed?: number;
  /** Checkpoint every N steps (default 500) and at the end; keep the last K (default 3). */
  saveEvery?: number;
  keep?: number;
  /** Evaluate every N steps (default: saveEvery; 0: never) on `evalCount` samples (default 4) of the first batch. */
  evalEvery?: number;
  evalCount?: number;
  /** Stage 1's reconstruction steps at evaluation (default 10) and stage 2's caption length (default 40). */
  evalSteps?: number;
  evalMaxNewTokens?: number;
  /** Plain progress lines every N steps when stderr is not a terminal (default 10). */
  logEvery?: number;
  /**
   * The crop side: stage 1/2 default 384, or Florence-2's input side when smaller; t2i: the
   * UNet's sample_size x the VAE's factor; vae: the VAE's sample_size.
   */
  imageSize?: number;
  /** t2i: which parts train (default both: the UNet and the CLIP text encoder). */
  trainParts?: T2iPart[];
  /** t2i: the share of captions replaced by the empty prompt (default 0.1, for classifier-free guidance). */
  captionDropout?: number;
  /** vae: the reconstruction loss, 'mse' (default) or 'l1'. */
  vaeLoss?: 'mse' | 'l1';
  /** vae: the weight of the KL term (default 1e-6, as common SD VAE fine-tunes). */
  klWeight?: number;
  /** Stage 2: captions padded / truncated to this many tokens (default 300, official). */
  maxCaptionTokens?: number;
  device?: 'cpu' | 'cuda';
  /** Data loader workers and prefetch (the loader's defaults otherwise). */
  workers?: number;
  /** A run.json of these options (camelCase keys); explicit options win over it. */
  config?: string;
  /** Progress on stderr: 'auto' (a bar on a terminal, lines otherwise), 'bar', 'lines', 'none' (default for the API). */
  progress?: 'auto' | 'bar' | 'lines' | 'none';
}

/** The options that shape the numbers: stored in every checkpoint, fixed on resume. */
export interface RunSettings {
  kind: TrainKind;
  steps: number;
  batch: number;
  accum: number;
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  noDecayNormsAndBiases: boolean;
  schedule: ScheduleKind;
  warmup: number;
  maxGradNorm: number;
  /** 0: no EMA. */
  emaDecay: number;
  seed: number;
  imageSize: number | null;
  maxCaptionTokens: number;
  /** t2i only. */
  trainParts?: T2iPart[];
  captionDropout?: number;
  /** vae only. */
  vaeLoss?: 'mse' | 'l1';
  klWeight?: number;
}

/** Everything else: where things go and how often (free to change on resume). */
export interface RunHousekeeping {
  saveEvery: number;
  keep: number;
  evalEvery: number;
  evalCount: number;
  evalSteps: number;
  evalMaxNewTokens: number;
  logEvery: number;
  progress: 'auto' | 'bar' | 'lines' | 'none';
}

const OFFICIAL: Record<TrainKind, Pick<RunSettings, 'lr' | 'betas' | 'eps' | 'weightDecay' | 'schedule'>> = {
  stage1: { lr: 5e-5, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.01, schedule: 'cosine' },
  stage2: { lr: 1e-5, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, schedule: 'linear' },
  // diffusers' train_text_to_image.py defaults (AdamW 1e-4, betas 0.9/0.999, wd 1e-2, constant).
  t2i: { lr: 1e-4, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, schedule: 'constant' },
  vae: { lr: 1e-4, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, schedule: 'constant' },
};

const SETTING_KEYS: readonly (keyof TrainOptions)[] = [
  'steps',
  'batch',
  'accum',
  'lr',
  'betas',
  'eps',
  'weightDecay',
  'noDecayNormsAndBiases',
  'schedule',
  'warmup',
  'maxGradNorm',
  'ema',
  'seed',
  'imageSize',
  'maxCaptionTokens',
  'trainParts',
  'captionDropout',
  'vaeLoss',
  'klWeight',
];
const OTHER_KEYS: readonly (keyof TrainOptions)[] = [
  'model',
  'data',
  'out',
  'resume',
  'saveEvery',
  'keep',
  'evalEvery',
  'evalCount',
  'evalSteps',
  'evalMaxNewTokens',
  'logEvery',
  'device',
  'workers',
  'config',
  'progress',
];
export const OPTION_KEYS: readonly (keyof TrainOptions)[] = [...SETTING_KEYS, ...OTHER_KEYS];

/** run.json under the explicit options (undefined values do not override). */
export function withConfig(opts: TrainOptions): TrainOptions {
  if (opts.config === undefined) return opts;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(opts.config, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ? 'E_FILE' : 'E_FILE_FORMAT';
    throw new VlvError(code, `${opts.config}: ${(e as Error).message}`, { cause: e });
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new VlvError('E_FILE_FORMAT', `${opts.config}: a run config is a JSON object of training options`);
  for (const k of Object.keys(raw))
    if (!(OPTION_KEYS as readonly string[]).includes(k) || k === 'config')
      throw new VlvError('E_FILE_FORMAT', `${opts.config}: unknown option '${k}' (${OPTION_KEYS.join(', ')})`);
  const merged: TrainOptions = { ...(raw as TrainOptions) };
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  return merged;
}

const posInt = (v: unknown, name: string, zeroOk = false): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < (zeroOk ? 0 : 1))
    throw new VlvError('E_ARG', `${name} must be a ${zeroOk ? 'non-negative' : 'positive'} integer, got ${String(v)}`);
  return v;
};
const num = (v: unknown, name: string, ok: (x: number) => boolean, what: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v))
    throw new VlvError('E_ARG', `${name} must be ${what}, got ${String(v)}`);
  return v;
};

/** The numbers of a fresh run: the stage's official defaults under the given options. */
export function resolveSettings(kind: TrainKind, o: TrainOptions): RunSettings {
  if (!TRAIN_KINDS.includes(kind))
    throw new VlvError('E_ARG', `training kind must be ${TRAIN_KINDS.join(' | ')}, got '${String(kind)}'`);
  const d = OFFICIAL[kind];
  const betas = o.betas ?? d.betas;
  if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => typeof b === 'number' && b >= 0 && b < 1))
    throw new VlvError('E_ARG', `betas must be two numbers in [0, 1), got ${JSON.stringify(betas)}`);
  const ema = o.ema ?? false;
  const emaDecay = ema === true ? 0.9999 : ema === false ? 0 : ema;
  const s: RunSettings = {
    kind,
    steps: posInt(o.steps ?? 1000, 'steps'),
    batch: posInt(o.batch ?? 4, 'batch'),
    accum: posInt(o.accum ?? 1, 'accum'),
    lr: num(o.lr ?? d.lr, 'lr', (x) => x > 0, 'positive'),
    betas: [betas[0], betas[1]],
    eps: num(o.eps ?? d.eps, 'eps', (x) => x >= 0, 'non-negative'),
    weightDecay: num(o.weightDecay ?? d.weightDecay, 'weightDecay', (x) => x >= 0, 'non-negative'),
    noDecayNormsAndBiases: o.noDecayNormsAndBiases ?? false,
    schedule: o.schedule ?? d.schedule,
    warmup: posInt(o.warmup ?? 0, 'warmup', true),
    maxGradNorm: num(o.maxGradNorm ?? 1.0, 'maxGradNorm', (x) => x >= 0, 'non-negative'),
    emaDecay: num(emaDecay, 'ema', (x) => x >= 0 && x < 1, 'true, false or a decay in [0, 1)'),
    seed: posInt(o.seed ?? 0, 'seed', true),
    imageSize: o.imageSize === undefined ? null : posInt(o.imageSize, 'imageSize'),
    maxCaptionTokens: posInt(o.maxCaptionTokens ?? 300, 'maxCaptionTokens'),
  };
  if (kind === 't2i') {
    const parts = o.trainParts ?? [...T2I_PARTS];
    if (
      !Array.isArray(parts) ||
      parts.length === 0 ||
      !parts.every((x) => (T2I_PARTS as readonly string[]).includes(x))
    )
      throw new VlvError('E_ARG', `trainParts must be some of ${T2I_PARTS.join(', ')}, got ${JSON.stringify(parts)}`);
    s.trainParts = T2I_PARTS.filter((x) => parts.includes(x));
    s.captionDropout = num(o.captionDropout ?? 0.1, 'captionDropout', (x) => x >= 0 && x <= 1, 'in [0, 1]');
  } else if (o.trainParts !== undefined || o.captionDropout !== undefined)
    throw new VlvError('E_ARG', 'trainParts and captionDropout are options of t2i training');
  if (kind === 'vae') {
    const loss = o.vaeLoss ?? 'mse';
    if (loss !== 'mse' && loss !== 'l1') throw new VlvError('E_ARG', `vaeLoss must be mse | l1, got '${String(loss)}'`);
    s.vaeLoss = loss;
    s.klWeight = num(o.klWeight ?? 1e-6, 'klWeight', (x) => x >= 0, 'non-negative');
  } else if (o.vaeLoss !== undefined || o.klWeight !== undefined)
    throw new VlvError('E_ARG', 'vaeLoss and klWeight are options of vae training');
  if (!SCHEDULE_KINDS.includes(s.schedule))
    throw new VlvError('E_ARG', `schedule must be ${SCHEDULE_KINDS.join(' | ')}, got '${String(s.schedule)}'`);
  checkSchedule({ kind: s.schedule, warmup: s.warmup, total: s.steps });
  return s;
}

/** On resume: the stored settings; an explicit option that differs is E_ARG naming it. */
export function resumeSettings(stored: RunSettings, kind: TrainKind, o: TrainOptions): RunSettings {
  if (stored.kind !== kind) throw new VlvError('E_ARG', `the checkpoint is of a ${stored.kind} run, not ${kind}`);
  const given = resolveSettings(kind, o);
  const differ: string[] = [];
  for (const k of SETTING_KEYS) {
    if (o[k] === undefined) continue;
    const key = k === 'ema' ? 'emaDecay' : (k as keyof RunSettings);
    if (JSON.stringify(given[key]) !== JSON.stringify(stored[key]))
      differ.push(`${k} (${JSON.stringify(given[key])}; the run has ${JSON.stringify(stored[key])})`);
  }
  if (differ.length > 0)
    throw new VlvError(
      'E_ARG',
      `resume continues the run as it was set up; these options differ: ${differ.join(', ')}. Start a new run (with the checkpoint as --model) to change them`,
    );
  return stored;
}

export function resolveHousekeeping(o: TrainOptions): RunHousekeeping {
  const saveEvery = posInt(o.saveEvery ?? 500, 'saveEvery');
  return {
    saveEvery,
    keep: posInt(o.keep ?? 3, 'keep'),
    evalEvery: posInt(o.evalEvery ?? saveEvery, 'evalEvery', true),
    evalCount: posInt(o.evalCount ?? 4, 'evalCount'),
    evalSteps: posInt(o.evalSteps ?? 10, 'evalSteps'),
    evalMaxNewTokens: posInt(o.evalMaxNewTokens ?? 40, 'evalMaxNewTokens'),
    logEvery: posInt(o.logEvery ?? 10, 'logEvery'),
    progress: o.progress ?? 'none',
  };
}
