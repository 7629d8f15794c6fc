/**
 * The training loop every kind shares (VLV stage 1 and 2, t2i, vae: a StageSpec loads its model
 * as a Trainee, which says what trains, how its data is prepared, how a checkpoint becomes a
 * loadable model folder, and gives the loss of a micro-batch). One optimizer step: for each of
 * `accum` micro-batches, the stage's loss (noise drawn under a seed of the run seed and the
 * micro-batch number), backward of loss / accum; then clipping of the global gradient norm, AdamW at the
 * schedule's lr, zeroed gradients, the EMA. Around it: checkpoints (every `saveEvery` steps, at
 * the end, and when `signal` aborts: the step under way finishes, is saved, and the call
 * resolves with `stopped: 'aborted'`), the metrics log, the loss plot, evaluations, progress.
 * Resuming restores the weights (the checkpoint folder is the model: VLV through its overlay), the moments, the step and
 * the data position, so the loss sequence is bit-identical to an uninterrupted run's.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { backward } from '../autograd.js';
import type { Progress } from '../call-options.js';
import type { Batch, DataLoader, ImageTransform } from '../data/types.js';
import { VlvError } from '../errors.js';
import { AdamW, clipGradNorm } from '../optim.js';
import { scale } from '../ops.js';
import { loadSafetensors } from '../safetensors.js';
import type { Tensor } from '../tensor.js';
import { resolveVlvFolder } from '../vlv/folder.js';
import { VlvModel, type VlvUse } from '../vlv/model.js';
import { imageProcessor } from '../vlv/pipelines.js';
import {
  baseFingerprint,
  checkBase,
  findCheckpoint,
  readCheckpoint,
  runDirOf,
  saveCheckpoint,
  sweepCheckpoints,
  writeVlvModel,
  type BaseFingerprint,
  type CheckpointContents,
  type CheckpointState,
  type ModelWriter,
} from './checkpoint.js';
import { openData } from './data.js';
import { Ema } from './ema.js';
import { evalSetFromBatch, loadEvalSet, saveEvalSet, type EvalSet } from './evaluate.js';
import { JsonlLog, type StepMetrics } from './metrics.js';
import {
  resolveHousekeeping,
  resolveSettings,
  resumeSettings,
  withConfig,
  type RunHousekeeping,
  type RunSettings,
  type TrainKind,
  type TrainOptions,
} from './options.js';
import { selectTrainable, type TrainableParam, type TrainableSet } from './params.js';
import { writeLossPlot } from './plot.js';
import { progressView, type ProgressView } from './progress.js';
import { lrAt } from './schedule.js';
import { microBatchSeed } from './seeds.js';

/** Progress events of a run: 'train' per step (with its numbers), 'checkpoint', 'eval'. */
export interface TrainProgress extends Progress {
  stage: 'train' | 'checkpoint' | 'eval';
  loss?: number;
  lr?: number;
  gradNorm?: number;
  samplesPerSec?: number;
  /** 'checkpoint': its folder; 'eval': the grid PNG (stage 1). */
  path?: string;
  /** 'eval' of stage 2: the captions. */
  captions?: { key: string; caption: string; reference?: string }[];
}

export interface TrainCallOptions {
  /** Aborting finishes the step under way, saves a checkpoint and resolves with stopped 'aborted'. */
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainResult {
  kind: TrainKind;
  runDir: string;
  /** Optimizer steps done (the run's, resumed ones included). */
  step: number;
  totalSteps: number;
  stopped: 'done' | 'aborted';
  /** The last checkpoint written. */
  checkpoint: string | null;
  /** The losses of the steps this call ran. */
  losses: number[];
}

/** What `dryRun` reports instead of training. */
export interface DryRunReport {
  kind: TrainKind;
  trainableParams: number;
  frozenParams: number;
  /** Bytes: the loaded weights, and per trainable element f32 gradient + two moments (+ EMA). */
  memory: { weights: number; gradients: number; optimizer: number; ema: number; total: number };
  batchShapes: Record<string, number[]>;
  settings: RunSettings;
}

/**
 * One kind of run's part of the loop: how its model is loaded, what trains, how its data is
 * prepared, how a checkpoint becomes a loadable model folder, and its loss (the runner).
 */
export interface StageSpec {
  kind: TrainKind;
  /** Loads the model to train: the base folder (`model`), or on resume the checkpoint folder. */
  open(folder: string, device: 'cpu' | 'cuda'): Promise<Trainee>;
  /** The base a fresh run starts from, for the checkpoints' record (and the resume check). */
  fingerprint(folder: string): BaseFingerprint;
  /** On resume: E_FILE / E_FILE_FORMAT when the base the checkpoint needs is gone or changed. */
  checkBase(fp: BaseFingerprint): void;
}

/** A loaded model under training (see StageSpec). */
export interface Trainee {
  /** Freezes everything but the run's trainable set and returns it. */
  select(s: RunSettings): TrainableSet;
  /** The data transform and the image side the runner and the evaluation see. */
  data(s: RunSettings): Promise<{ transform: ImageTransform; imageSize: number }>;
  /** Prepared once per run (prompt ids, tokenizer). */
  prepare(s: RunSettings, device: 'cpu' | 'cuda'): Promise<StageRunner>;
  /** What writes a checkpoint's model files (given the trained set and the base). */
  writer(
    set: TrainableSet,
    base: BaseFingerprint,
  ): Promise<{ write: ModelWriter; baseOverlay?: Record<string, Tensor> }>;
  /** Extra fields of the checkpoints' state.json (diffusers: weightFiles). */
  stateExtras?(set: TrainableSet): Partial<CheckpointState>;
  dispose(): void;
}

/** The VLV stages' spec: a VlvModel of `use`, the official trainable set of `stage`. */
export function vlvStageSpec(
  kind: TrainKind,
  stage: 1 | 2,
  use: VlvUse,
  prepare: (model: VlvModel, s: RunSettings, device: 'cpu' | 'cuda') => Promise<StageRunner>,
): StageSpec {
  return {
    kind,
    fingerprint: (folder) => baseFingerprint(resolveVlvFolder(folder)),
    checkBase,
    async open(folder, device) {
      const model = await VlvModel.load(folder, { use, device });
      return {
        select: () => selectTrainable(model, stage),
        async data(s) {
          const cropSize = s.imageSize ?? (await imageProcessor(model)).imageSize;
          const florence2Folder = model.folder.parts.florence2;
          if (!florence2Folder) throw new VlvError('E_FILE', `${model.folder.root} has no florence2 part`);
          return { transform: { kind: 'vlv', cropSize, florence2Folder }, imageSize: cropSize };
        },
        prepare: (s, device) => prepare(model, s, device),
        async writer(set, base) {
          // The base's own overlay (a checkpoint trained further): its tensors not trained now are kept.
          const layout = resolveVlvFolder(base.folder);
          if (!layout.overlay) return { write: writeVlvModel };
          const trained = new Set(set.params.flatMap((p) => p.names));
          const baseOverlay: Record<string, Tensor> = {};
          for (const [n, t] of Object.entries((await loadSafetensors(layout.overlay)).tensors))
            if (!trained.has(n)) baseOverlay[n] = t;
          return { write: writeVlvModel, baseOverlay };
        },
        dispose: () => model.dispose(),
      };
    },
  };
}

export interface StageRunner {
  /** The loss of one micro-batch, recorded for backward. */
  loss(batch: Batch, seed: number): Promise<{ loss: Tensor; temps: Tensor[] }>;
  /** The tensors the engine gets for a batch (dry run). */
  shapes(batch: Batch): Record<string, number[]>;
  evaluate(ctx: EvalContext): Promise<Omit<TrainProgress, 'stage' | 'done' | 'total'> & { line?: string }>;
  dispose(): void;
}

export interface EvalContext {
  set: EvalSet;
  runDir: string;
  step: number;
  hk: RunHousekeeping;
  imageSize: number;
  seed: number;
}

interface Setup {
  settings: RunSettings;
  hk: RunHousekeeping;
  runDir: string;
  model: Trainee;
  resumed: CheckpointContents | null;
  resumeDir: string | null;
}

async function setup(spec: StageSpec, o: TrainOptions): Promise<Setup> {
  const hk = resolveHousekeeping(o);
  const device = o.device ?? 'cpu';
  if (o.resume !== undefined) {
    const resumeDir = findCheckpoint(o.resume);
    const resumed = await readCheckpoint(resumeDir);
    const settings = resumeSettings(resumed.state.settings, spec.kind, o);
    spec.checkBase(resumed.state.base);
    const given = o.model;
    const same = (f: string) => given === f || (given !== undefined && resolve(given) === f);
    if (given !== undefined && !same(resumed.state.base.folder) && !same(resumeDir))
      throw new VlvError(
        'E_ARG',
        `resume: the run was trained on ${resumed.state.base.folder}, not ${given} (leave out --model)`,
      );
    // The checkpoint folder is a model folder: VLV, the base weights with the trained ones laid
    // over them; diffusers, the whole model.
    const model = await spec.open(resumeDir, device);
    const runDir = resolve(o.out ?? runDirOf(resumeDir));
    return { settings, hk, runDir, model, resumed, resumeDir };
  }
  if (o.model === undefined) throw new VlvError('E_ARG', 'training needs model (the base model folder)');
  if (o.out === undefined) throw new VlvError('E_ARG', 'training needs out (the run folder)');
  const settings = resolveSettings(spec.kind, o);
  const model = await spec.open(o.model, device);
  return { settings, hk, runDir: resolve(o.out), model, resumed: null, resumeDir: null };
}

/** Optimizer order: the decayed parameters, then the undecayed ones (when excluded). */
function optimizerOf(set: TrainableSet, s: RunSettings): { opt: AdamW; order: TrainableParam[] } {
  const base = { lr: s.lr, beta1: s.betas[0], beta2: s.betas[1], eps: s.eps, weightDecay: s.weightDecay };
  if (!s.noDecayNormsAndBiases)
    return {
      opt: new AdamW(
        set.params.map((p) => p.tensor),
        base,
      ),
      order: set.params,
    };
  const decay = set.params.filter((p) => !p.noDecay);
  const none = set.params.filter((p) => p.noDecay);
  const groups = [{ params: decay.map((p) => p.tensor) }, { params: none.map((p) => p.tensor), weightDecay: 0 }];
  return { opt: new AdamW(groups, base), order: [...decay, ...none] };
}

function dryRunReport(
  spec: StageSpec,
  s: RunSettings,
  set: TrainableSet,
  shapes: Record<string, number[]>,
): DryRunReport {
  const gradients = set.trainableCount * 4;
  const optimizer = set.trainableCount * 8;
  const ema = s.emaDecay > 0 ? set.trainableCount * 4 : 0;
  return {
    kind: spec.kind,
    trainableParams: set.trainableCount,
    frozenParams: set.frozenCount,
    memory: {
      weights: set.weightBytes,
      gradients,
      optimizer,
      ema,
      total: set.weightBytes + gradients + optimizer + ema,
    },
    batchShapes: shapes,
    settings: s,
  };
}

/** Runs a stage (see the file comment); `dryRun` reports the set-up and the first batch instead. */
export async function runTraining(
  spec: StageSpec,
  options: TrainOptions & { dryRun?: boolean },
  call: TrainCallOptions = {},
): Promise<TrainResult | DryRunReport> {
  const o = withConfig(options);
  const { settings: s, hk, runDir, model, resumed, resumeDir } = await setup(spec, o);
  let loader: DataLoader | null = null;
  let runner: StageRunner | null = null;
  let opt: AdamW | null = null;
  let ema: Ema | null = null;
  const view: ProgressView = progressView(hk.progress, spec.kind, hk.logEvery);
  try {
    const set = model.select(s);
    const { transform, imageSize: cropSize } = await model.data(s);
    let skipped = 0;
    loader = await openData(o.data, {
      batchSize: s.batch,
      transform,
      seed: s.seed,
      ...(o.workers !== undefined ? { workers: o.workers } : {}),
      onSkip: (key, e) => view.note(`skipped ${key}: ${e.message} (${++skipped} unreadable so far)`),
    });
    runner = await model.prepare(s, o.device ?? 'cpu');

    if (options.dryRun) {
      const batch = await loader.next();
      const shapes = runner.shapes(batch);
      disposeBatch(batch);
      return dryRunReport(spec, s, set, shapes);
    }

    const { opt: optimizer, order } = optimizerOf(set, s);
    opt = optimizer;
    if (resumed) {
      const names = set.params.map((p) => p.name);
      if (JSON.stringify(names) !== JSON.stringify(resumed.state.params))
        throw new VlvError('E_FILE_FORMAT', `${resumeDir}: its parameters are not this model's trainable set`);
      opt.loadState({
        step: resumed.state.step,
        expAvg: order.map((p) => resumed.expAvg[p.name]!),
        expAvgSq: order.map((p) => resumed.expAvgSq[p.name]!),
      });
      loader.restore(resumed.state.data);
    }
    if (s.emaDecay > 0) ema = Ema.create(s.emaDecay, set.params, resumed?.ema);

    await mkdir(runDir, { recursive: true });
    await sweepCheckpoints(runDir);
    const metrics = new JsonlLog<StepMetrics>(join(runDir, 'metrics.jsonl'));
    const evalLog = new JsonlLog<{ step: number }>(join(runDir, 'eval.jsonl'));
    const startStep = resumed?.state.step ?? 0;
    metrics.truncateAfter(startStep);
    evalLog.truncateAfter(startStep);

    const base = resumed?.state.base ?? spec.fingerprint(o.model!);
    const { write: writeModel, baseOverlay } = await model.writer(set, base);

    let evalSet = await loadEvalSet(runDir);
    let lastCheckpoint: string | null = resumeDir;
    let lastLoss: number | null = resumed?.state.loss ?? null;
    let lastSaved = startStep;
    let lr = 0;
    const losses: number[] = [];
    const params = opt.params;

    const save = async (step: number) => {
      const weights: Record<string, Tensor> = {};
      for (const p of set.params) for (const n of p.names) weights[n] = p.tensor;
      const st = opt!.state();
      const expAvg: Record<string, Tensor> = {};
      const expAvgSq: Record<string, Tensor> = {};
      order.forEach((p, i) => {
        expAvg[p.name] = st.expAvg[i]!;
        expAvgSq[p.name] = st.expAvgSq[i]!;
      });
      const state: CheckpointState = {
        format: 'vlv-train-state',
        version: 1,
        step,
        settings: s,
        base,
        params: set.params.map((p) => p.name),
        rng: { scheme: 'philox-per-micro-batch', seed: s.seed, microBatches: step * s.accum },
        data: loader!.position(),
        lr,
        loss: lastLoss,
        savedAt: new Date().toISOString(),
        ...model.stateExtras?.(set),
      };
      const c: CheckpointContents = { state, weights, expAvg, expAvgSq };
      if (ema) c.ema = ema.named();
      if (baseOverlay) c.baseOverlay = baseOverlay;
      const copies = await onHost(c);
      try {
        lastCheckpoint = await saveCheckpoint(runDir, c, hk.keep, writeModel);
      } finally {
        for (const t of copies) t.dispose();
      }
      lastSaved = step;
      await writeLossPlot(
        join(runDir, 'loss.png'),
        metrics.read().map((m) => ({ step: m.step, loss: m.loss })),
        `VLV ${spec.kind}: training loss`,
      );
      view.note(`checkpoint ${lastCheckpoint}`);
      call.onProgress?.({ stage: 'checkpoint', done: step, total: s.steps, path: lastCheckpoint });
    };

    const evaluate = async (step: number) => {
      if (!evalSet) return;
      const r = await runner!.evaluate({ set: evalSet, runDir, step, hk, imageSize: cropSize, seed: s.seed });
      const { line, ...rest } = r;
      evalLog.append({ step, ...rest });
      if (line) view.note(line);
      call.onProgress?.({ stage: 'eval', done: step, total: s.steps, ...rest });
    };

    let step = startStep;
    view.start(step, s.steps);
    while (step < s.steps && !call.signal?.aborted) {
      const t0 = performance.now();
      lr = lrAt({ kind: s.schedule, warmup: s.warmup, total: s.steps }, s.lr, step);
      opt.lr = lr;
      let lossSum = 0;
      for (let micro = 0; micro < s.accum; micro++) {
        const batch = await loader.next();
        try {
          if (!evalSet && hk.evalEvery > 0) {
            evalSet = evalSetFromBatch(batch, hk.evalCount);
            await saveEvalSet(runDir, evalSet);
          }
          const { loss, temps } = await runner.loss(batch, microBatchSeed(s.seed, step * s.accum + micro));
          const value = loss.toFloat32()[0]!;
          if (!Number.isFinite(value))
            throw new VlvError('E_ARG', `the loss is ${value} at step ${step + 1} (a lower lr may help)`);
          if (s.accum > 1) {
            const scaled = await scale(loss, 1 / s.accum);
            await backward(scaled);
            scaled.dispose();
          } else await backward(loss);
          lossSum += value;
          for (const t of temps) t.dispose();
        } finally {
          disposeBatch(batch);
        }
      }
      // max_norm 0 turns clipping off: the norm is still measured (scaling by 1 is exact).
      const gradNorm = await clipGradNorm(params, s.maxGradNorm > 0 ? s.maxGradNorm : Number.MAX_VALUE);
      await opt.stepOnce();
      opt.zeroGrad();
      await ema?.update();
      step++;
      const loss = lossSum / s.accum;
      lastLoss = loss;
      losses.push(loss);
      const seconds = (performance.now() - t0) / 1000;
      const m: StepMetrics = {
        step,
        loss,
        lr,
        gradNorm,
        samplesPerSec: (s.batch * s.accum) / seconds,
        rss: process.memoryUsage().rss,
        time: new Date().toISOString(),
      };
      metrics.append(m);
      view.step(m);
      call.onProgress?.({
        stage: 'train',
        done: step,
        total: s.steps,
        loss,
        lr,
        gradNorm,
        samplesPerSec: m.samplesPerSec,
      });
      if (step % hk.saveEvery === 0 || step === s.steps) await save(step);
      if (hk.evalEvery > 0 && (step % hk.evalEvery === 0 || step === s.steps)) await evaluate(step);
    }
    const aborted = step < s.steps;
    if (aborted && lastSaved !== step) await save(step);
    if (aborted) view.note(`stopped at step ${step}/${s.steps}; resume with --resume ${lastCheckpoint}`);
    return {
      kind: spec.kind,
      runDir,
      step,
      totalSteps: s.steps,
      stopped: aborted ? 'aborted' : 'done',
      checkpoint: lastCheckpoint,
      losses,
    };
  } finally {
    view.stop();
    ema?.dispose();
    opt?.dispose();
    runner?.dispose();
    await loader?.close();
    model.dispose();
  }
}

/** Device tensors of a checkpoint replaced by host copies (returned, to be disposed after the save). */
async function onHost(c: CheckpointContents): Promise<Tensor[]> {
  const copies = new Map<Tensor, Tensor>();
  for (const rec of [c.weights, c.expAvg, c.expAvgSq, c.ema ?? {}])
    for (const [name, t] of Object.entries(rec)) {
      if (t.device === 'cpu') continue;
      let host = copies.get(t);
      if (!host) copies.set(t, (host = await t.to('cpu')));
      rec[name] = host;
    }
  return [...copies.values()];
}

function disposeBatch(b: Batch): void {
  b.image.dispose();
  b.pixelValues?.dispose();
}
