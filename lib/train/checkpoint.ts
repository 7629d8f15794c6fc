/**
 * Training checkpoints. A checkpoint is a folder `checkpoints/step-NNNNNN/` of the run folder:
 *
 * - `vlv.json`: an ordinary VLV folder (lib/vlv/folder.ts) whose `checkpoint` is the base
 *   model's weights file (absolute path: never copied), whose `overlay` is `trainable.safetensors`,
 *   and whose parts are the base folder's parts (absolute paths): `VlvModel.load(<checkpoint>)`
 *   and the pipelines load it as the trained model;
 * - `trainable.safetensors`: the trainable weights under the official names (a tied tensor under
 *   each of its names), f32;
 * - `optimizer.safetensors`: AdamW's moments (`exp_avg.<name>`, `exp_avg_sq.<name>`);
 * - `ema.safetensors` (with EMA): the averaged weights under the official names (an overlay too);
 * - `state.json`: the step, the run settings (schedule, optimizer, seed: the noise of every step
 *   is drawn from the seed and the step number, so the seed and the step are the whole RNG state),
 *   the data loader's position, and the base model's fingerprint (its checkpoint file's path, size
 *   and a SHA-256 of its header), checked on resume.
 *
 * A diffusers run (t2i, vae: lib/train/diffusers.ts) writes, in place of vlv.json and
 * trainable.safetensors, an ordinary diffusers folder (a pipeline with model_index.json, or a
 * VAE folder): each trained part's whole weights file, the other parts copied; `state.json`'s
 * `weightFiles` names the files that hold the trained weights (by name prefix).
 *
 * Each folder is filled under a hidden temporary name and renamed whole (lib/train/atomic.ts): a
 * folder named step-* is always complete. Old ones beyond `keep` are renamed away, then deleted.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { VlvError } from '../errors.js';
import type { DataPosition } from '../data/types.js';
import { loadSafetensors, saveSafetensors } from '../safetensors.js';
import type { Tensor } from '../tensor.js';
import { resolveVlvFolder, type VlvFolder } from '../vlv/folder.js';
import { publishDir, removeDir, stagingDir, sweepLeftovers, writeFileAtomic } from './atomic.js';
import type { RunSettings } from './options.js';

export const STATE_FORMAT = 'vlv-train-state';

/** Identifies the base weights a run trained on top of. */
export interface BaseFingerprint {
  /** The base VLV folder as given (absolute). */
  folder: string;
  /** Its weights file (absolute) and that file's size and SHA-256 of its header. */
  checkpoint: string;
  size: number;
  headerSha256: string;
  /** The base's own overlay (a checkpoint trained further), when it has one. */
  overlay?: { path: string; size: number; headerSha256: string };
}

export interface CheckpointState {
  format: typeof STATE_FORMAT;
  version: 1;
  /** Optimizer steps done. */
  step: number;
  settings: RunSettings;
  base: BaseFingerprint;
  /** The canonical parameter names, in the optimizer's order (tied names: see trainable.safetensors). */
  params: string[];
  /** The random streams: Philox seeds are derived from `seed` and the micro-batch number (`microBatches` done). */
  rng: { scheme: 'philox-per-micro-batch'; seed: number; microBatches: number };
  /** The data loader's position after the last batch of `step`. */
  data: DataPosition;
  /** The lr of the last step taken (informational: the schedule gives it from the step). */
  lr: number;
  /** The mean loss of the last step (informational). */
  loss: number | null;
  savedAt: string;
  /**
   * Diffusers checkpoints: name prefix ('' or 'unet.', 'text_encoder.') -> the weights file
   * (relative to the checkpoint) that holds the trained weights under the rest of their names.
   * Absent: VLV checkpoints (trainable.safetensors).
   */
  weightFiles?: Record<string, string>;
}

/** The header bytes of a safetensors file (8-byte length + JSON), or the first and last MiB of any other file. */
function headerBytes(path: string): Buffer {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const read = (pos: number, n: number) => {
      const b = Buffer.alloc(Math.max(0, Math.min(n, size - pos)));
      let off = 0;
      while (off < b.length) {
        const got = readSync(fd, b, off, b.length - off, pos + off);
        if (got === 0) break;
        off += got;
      }
      return b.subarray(0, off);
    };
    if (path.endsWith('.safetensors') && size >= 8) {
      const n = Number(read(0, 8).readBigUInt64LE(0));
      if (n > 0 && 8 + n <= size) return read(0, 8 + n);
    }
    const mib = 1 << 20;
    return size <= 2 * mib ? read(0, size) : Buffer.concat([read(0, mib), read(size - mib, mib)]);
  } finally {
    closeSync(fd);
  }
}

/** A file's size and the SHA-256 of its header (safetensors) or of its first and last MiB. */
export function fingerprintFile(path: string): { size: number; headerSha256: string } {
  return { size: statSync(path).size, headerSha256: createHash('sha256').update(headerBytes(path)).digest('hex') };
}

export function baseFingerprint(layout: VlvFolder): BaseFingerprint {
  const fp: BaseFingerprint = {
    folder: layout.root,
    checkpoint: layout.checkpoint,
    ...fingerprintFile(layout.checkpoint),
  };
  if (layout.overlay) fp.overlay = { path: layout.overlay, ...fingerprintFile(layout.overlay) };
  return fp;
}

/** E_FILE_FORMAT when the base weights are not the ones the run started from. */
export function checkBase(fp: BaseFingerprint): void {
  const check = (path: string, want: { size: number; headerSha256: string }) => {
    if (!existsSync(path))
      throw new VlvError('E_FILE', `resume: the base weights ${path} the run was trained on are missing`);
    const got = fingerprintFile(path);
    if (got.size !== want.size || got.headerSha256 !== want.headerSha256)
      throw new VlvError(
        'E_FILE_FORMAT',
        `resume: the base weights ${path} changed since the run started (size ${got.size} vs ${want.size}, header hash differs: ${got.headerSha256 !== want.headerSha256})`,
      );
  };
  check(fp.checkpoint, fp);
  if (fp.overlay) check(fp.overlay.path, fp.overlay);
}

export const checkpointName = (step: number) => `step-${String(step).padStart(6, '0')}`;

export interface CheckpointContents {
  state: CheckpointState;
  /** Official name -> weight (every name of a tied tensor). */
  weights: Record<string, Tensor>;
  /** Canonical name -> moments. */
  expAvg: Record<string, Tensor>;
  expAvgSq: Record<string, Tensor>;
  /** Official name -> EMA weight. */
  ema?: Record<string, Tensor>;
  /** Extra tensors kept from the base's own overlay (trained earlier, frozen now). */
  baseOverlay?: Record<string, Tensor>;
}

/** Writes the files that make a checkpoint folder a loadable model into its staging folder. */
export type ModelWriter = (dir: string, c: CheckpointContents) => Promise<void>;

/** VLV: trainable.safetensors (the trained weights, laid over the base's) and a vlv.json naming the base's files. */
export const writeVlvModel: ModelWriter = async (dir, c) => {
  const meta = { format: 'vlv-train-checkpoint', step: String(c.state.step), kind: c.state.settings.kind };
  await saveSafetensors(join(dir, 'trainable.safetensors'), { ...c.baseOverlay, ...c.weights }, meta);
  const base = resolveVlvFolder(c.state.base.folder);
  const vlvJson = {
    format: 'vlv',
    version: 1,
    checkpoint: c.state.base.checkpoint,
    overlay: 'trainable.safetensors',
    parts: base.parts,
    trainedFrom: c.state.base.folder,
  };
  writeFileAtomic(join(dir, 'vlv.json'), `${JSON.stringify(vlvJson, null, 2)}\n`);
};

/** Writes checkpoints/step-N/ atomically; removes all but the last `keep`; returns the folder. */
export async function saveCheckpoint(
  runDir: string,
  c: CheckpointContents,
  keep: number,
  writeModel: ModelWriter = writeVlvModel,
): Promise<string> {
  const dir = join(runDir, 'checkpoints');
  await mkdir(dir, { recursive: true });
  const final = join(dir, checkpointName(c.state.step));
  const tmp = await stagingDir(final);
  const meta = { format: 'vlv-train-checkpoint', step: String(c.state.step), kind: c.state.settings.kind };
  await writeModel(tmp, c);
  const opt: Record<string, Tensor> = {};
  for (const [n, t] of Object.entries(c.expAvg)) opt[`exp_avg.${n}`] = t;
  for (const [n, t] of Object.entries(c.expAvgSq)) opt[`exp_avg_sq.${n}`] = t;
  await saveSafetensors(join(tmp, 'optimizer.safetensors'), opt, meta);
  if (c.ema) await saveSafetensors(join(tmp, 'ema.safetensors'), { ...c.baseOverlay, ...c.ema }, meta);
  writeFileAtomic(join(tmp, 'state.json'), `${JSON.stringify(c.state, null, 2)}\n`);
  await publishDir(tmp, final);
  const all = listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await removeDir(old.dir);
  return final;
}

/** The complete checkpoints of a run folder, oldest first. */
export function listCheckpoints(runDir: string): { step: number; dir: string }[] {
  const dir = join(runDir, 'checkpoints');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => /^step-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), dir: join(dir, m[0]) }))
    .filter((c) => existsSync(join(c.dir, 'state.json')))
    .sort((a, b) => a.step - b.step);
}

/** Removes what an interrupted save left in a run's checkpoints folder. */
export async function sweepCheckpoints(runDir: string): Promise<void> {
  await sweepLeftovers(join(runDir, 'checkpoints'));
}

/** `--resume`: a checkpoint folder (state.json), or a run folder (its latest checkpoint). */
export function findCheckpoint(path: string): string {
  const p = resolve(path);
  if (existsSync(join(p, 'state.json'))) return p;
  const list = listCheckpoints(p);
  if (list.length > 0) return list[list.length - 1]!.dir;
  throw new VlvError(
    'E_FILE',
    `resume: ${p} is neither a checkpoint folder (state.json) nor a run folder with checkpoints`,
  );
}

/** The run folder a checkpoint belongs to (checkpoints/step-N -> the run). */
export function runDirOf(checkpoint: string): string {
  const parent = dirname(resolve(checkpoint));
  return basename(parent) === 'checkpoints' ? dirname(parent) : parent;
}

export function readState(dir: string): CheckpointState {
  const file = join(dir, 'state.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ? 'E_FILE' : 'E_FILE_FORMAT';
    throw new VlvError(code, `${file}: ${(e as Error).message}`, { cause: e });
  }
  const s = raw as Partial<CheckpointState>;
  if (s?.format !== STATE_FORMAT || s.version !== 1)
    throw new VlvError('E_FILE_FORMAT', `${file}: not a vlv training state (format ${STATE_FORMAT}, version 1)`);
  if (!Number.isSafeInteger(s.step) || !s.settings || !s.base || !Array.isArray(s.params) || !s.rng || !s.data)
    throw new VlvError('E_FILE_FORMAT', `${file}: incomplete training state`);
  return s as CheckpointState;
}

/** Reads a checkpoint whole (validating every file): the state, weights, moments and EMA. */
export async function readCheckpoint(dir: string): Promise<CheckpointContents> {
  const state = readState(dir);
  let weights: Record<string, Tensor> = {};
  if (state.weightFiles) {
    for (const [prefix, file] of Object.entries(state.weightFiles))
      for (const [n, t] of Object.entries((await loadSafetensors(join(dir, file))).tensors)) weights[prefix + n] = t;
  } else {
    resolveVlvFolder(dir); // its vlv.json names existing files and folders
    weights = (await loadSafetensors(join(dir, 'trainable.safetensors'))).tensors;
  }
  const opt = (await loadSafetensors(join(dir, 'optimizer.safetensors'))).tensors;
  const expAvg: Record<string, Tensor> = {};
  const expAvgSq: Record<string, Tensor> = {};
  for (const name of state.params) {
    const m = opt[`exp_avg.${name}`];
    const v = opt[`exp_avg_sq.${name}`];
    if (!m || !v) throw new VlvError('E_FILE_FORMAT', `${dir}: optimizer.safetensors lacks the moments of '${name}'`);
    if (!weights[name]) throw new VlvError('E_FILE_FORMAT', `${dir}: its weights lack '${name}'`);
    expAvg[name] = m;
    expAvgSq[name] = v;
  }
  const c: CheckpointContents = { state, weights, expAvg, expAvgSq };
  if (state.settings.emaDecay > 0) c.ema = (await loadSafetensors(join(dir, 'ema.safetensors'))).tensors;
  return c;
}
