/**
 * What t2i and vae training share: the diffusers parts a run reads (a pipeline folder with
 * model_index.json, its parts named one by one, or a lone VAE folder), and the checkpoint as an
 * ordinary diffusers folder.
 *
 * A checkpoint of a diffusers run is self-contained: each trained part's config.json beside its
 * whole weights file (`diffusion_pytorch_model.safetensors` for the UNet and the VAE,
 * `model.safetensors` for the text encoder), every other part copied file by file, and for t2i a
 * model_index.json (the base's, or one written here). `loadPipeline(<checkpoint>)` (t2i) and
 * `AutoencoderKL.load(<checkpoint>)` (vae) load it; with EMA, `<checkpoint>/ema` is the same
 * folder with the averaged weights. Copying the frozen parts is a choice for the
 * small models this project trains itself (the built-in model: a few MB); unlike VLV checkpoints
 * nothing refers back to the base, so resuming needs only the checkpoint.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { VlvError } from '../errors.js';
import { saveSafetensors } from '../safetensors.js';
import type { Tensor } from '../tensor.js';
import { writeFileAtomic } from './atomic.js';
import { checkpointName, fingerprintFile, type BaseFingerprint, type ModelWriter } from './checkpoint.js';
import type { TrainableSet } from './params.js';

export const PIPELINE_PARTS = ['unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler'] as const;
export type PipelinePart = (typeof PIPELINE_PARTS)[number];

/** The folders of a run's parts (absolute), and the pipeline folder when there is one. */
export interface DiffusersParts {
  root: string | null;
  parts: Partial<Record<PipelinePart, string>>;
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

function readJson(path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ? 'E_FILE' : 'E_FILE_FORMAT';
    throw new VlvError(code, `${path}: ${(e as Error).message}`, { cause: e });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new VlvError('E_FILE_FORMAT', `${path}: not a JSON object`);
  return v as Record<string, unknown>;
}

/**
 * `model` as parts: a pipeline folder (model_index.json: each listed, non-null part's subfolder),
 * `part=<dir>,part=<dir>,...`, or (vae) a folder whose config.json is an AutoencoderKL's.
 */
export function resolveDiffusersParts(model: string): DiffusersParts {
  if (/^[a-z_]+=/.test(model)) {
    const parts: DiffusersParts['parts'] = {};
    for (const item of model.split(',')) {
      const eq = item.indexOf('=');
      const name = item.slice(0, eq) as PipelinePart;
      if (eq < 0 || !(PIPELINE_PARTS as readonly string[]).includes(name))
        throw new VlvError('E_ARG', `model: '${item}' is not part=<folder> (parts: ${PIPELINE_PARTS.join(', ')})`);
      const dir = resolve(item.slice(eq + 1));
      if (!isDir(dir)) throw new VlvError('E_FILE', `model: ${name} ${dir} is not a folder`);
      parts[name] = dir;
    }
    return { root: null, parts };
  }
  const root = resolve(model);
  if (!isDir(root)) throw new VlvError('E_FILE', `model: ${root} is not a folder`);
  const index = join(root, 'model_index.json');
  if (existsSync(index)) {
    const json = readJson(index);
    const parts: DiffusersParts['parts'] = {};
    for (const name of PIPELINE_PARTS) {
      const e = json[name];
      if (Array.isArray(e) && e[0] !== null && e[1] !== null && isDir(join(root, name))) parts[name] = join(root, name);
    }
    return { root, parts };
  }
  const config = join(root, 'config.json');
  if (existsSync(config) && readJson(config)._class_name === 'AutoencoderKL') return { root, parts: { vae: root } };
  throw new VlvError(
    'E_FILE_FORMAT',
    `model: ${root} has no model_index.json (a diffusers pipeline) nor an AutoencoderKL config.json`,
  );
}

/** The part folders `need` names, or E_FILE_FORMAT naming the missing ones. */
export function requireParts<P extends PipelinePart>(
  p: DiffusersParts,
  need: readonly P[],
  what: string,
): Record<P, string> {
  const missing = need.filter((n) => !p.parts[n]);
  if (missing.length > 0)
    throw new VlvError(
      'E_FILE_FORMAT',
      `${what} needs the parts ${need.join(', ')}; ${p.root ?? 'the model'} lacks ${missing.join(', ')}`,
    );
  return p.parts as Record<P, string>;
}

/** The base of a run: the weights file of the part it trains first (its size and header hash), for the record. */
export function diffusersFingerprint(model: string, part: PipelinePart): BaseFingerprint {
  const p = resolveDiffusersParts(model);
  const dir = p.parts[part];
  if (!dir) throw new VlvError('E_FILE_FORMAT', `${model}: no ${part} part`);
  const checkpoint = weightsFileIn(dir);
  return { folder: p.root ?? model, checkpoint, ...fingerprintFile(checkpoint) };
}

/** A part folder's single weights file (model.safetensors or diffusion_pytorch_model.safetensors). */
function weightsFileIn(dir: string): string {
  for (const n of ['diffusion_pytorch_model.safetensors', 'model.safetensors'])
    if (existsSync(join(dir, n))) return join(dir, n);
  throw new VlvError('E_FILE_FORMAT', `${dir}: no diffusion_pytorch_model.safetensors or model.safetensors`);
}

/** The weights file name diffusers / transformers give a part. */
export const weightsFileName = (part: PipelinePart) =>
  part === 'text_encoder' ? 'model.safetensors' : 'diffusion_pytorch_model.safetensors';

/** Copies a folder's regular files (recursively). `skip` leaves out files by name. */
function copyFolder(from: string, to: string, skip: (name: string) => boolean = () => false): void {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    if (skip(e.name)) continue;
    const src = join(from, e.name);
    if (e.isDirectory()) copyFolder(src, join(to, e.name), skip);
    else if (e.isFile() || (e.isSymbolicLink() && statSync(src).isFile())) copyFileSync(src, join(to, e.name));
  }
}

/** A trained part: its loaded parameters (all of them: the weights file written is whole). */
export interface TrainedPart {
  part: PipelinePart;
  /** The part's folder in the checkpoint ('' for a lone VAE folder). */
  sub: string;
  parameters: Record<string, Tensor>;
}

const LIBRARY: Record<PipelinePart, string> = {
  unet: 'diffusers',
  vae: 'diffusers',
  scheduler: 'diffusers',
  text_encoder: 'transformers',
  tokenizer: 'transformers',
};

function modelIndexOf(p: DiffusersParts): Record<string, unknown> {
  if (p.root && existsSync(join(p.root, 'model_index.json'))) return readJson(join(p.root, 'model_index.json'));
  const index: Record<string, unknown> = { _class_name: 'StableDiffusionPipeline', _diffusers_version: '0.33.1' };
  for (const name of PIPELINE_PARTS) {
    const dir = p.parts[name];
    if (!dir) continue;
    let cls: string;
    if (name === 'tokenizer') cls = 'CLIPTokenizer';
    else if (name === 'text_encoder') cls = 'CLIPTextModel';
    else {
      const file = join(dir, name === 'scheduler' ? 'scheduler_config.json' : 'config.json');
      const c = readJson(file)._class_name;
      cls = typeof c === 'string' ? c : name === 'unet' ? 'UNet2DConditionModel' : 'AutoencoderKL';
    }
    index[name] = [LIBRARY[name], cls];
  }
  return index;
}

/**
 * The checkpoint writer of a diffusers run: trained parts get their config file and a whole
 * weights file (the checkpoint's host copies of the trained tensors); the rest are copied from
 * `p` (see the file comment). With EMA, `ema/` beside them is the same folder with the averaged
 * weights (the model to sample from, as diffusers' EMAModel.copy_to before saving).
 */
export function diffusersWriter(p: DiffusersParts, trained: TrainedPart[], lone: boolean): ModelWriter {
  let src = p;
  const writeFolder = async (dir: string, weights: Record<string, Tensor>) => {
    for (const t of trained) {
      const from = src.parts[t.part]!;
      const to = join(dir, t.sub);
      const prefix = t.sub ? `${t.sub}.` : '';
      const tensors: Record<string, Tensor> = {};
      for (const [n, x] of Object.entries(t.parameters)) tensors[n] = weights[prefix + n] ?? x;
      // What save_pretrained writes: the config, then the weights.
      copyFolder(from, to, (n) => n !== 'config.json');
      await saveSafetensors(join(to, weightsFileName(t.part)), tensors, { format: 'pt' });
    }
    if (lone) return;
    const done = new Set(trained.map((t) => t.part));
    for (const name of PIPELINE_PARTS) {
      const from = src.parts[name];
      if (from && !done.has(name)) copyFolder(from, join(dir, name));
    }
    writeFileAtomic(join(dir, 'model_index.json'), `${JSON.stringify(modelIndexOf(src), null, 2)}\n`);
  };
  return async (dir, c) => {
    await writeFolder(dir, c.weights);
    if (c.ema) await writeFolder(join(dir, 'ema'), c.ema);
    // The next checkpoint copies from this one once it is published (beside its staging folder):
    // the folder the run started from may be rotated away (`keep`) while the run goes on.
    const final = join(dirname(dir), checkpointName(c.state.step));
    const parts: DiffusersParts['parts'] = {};
    for (const name of PIPELINE_PARTS) if (src.parts[name]) parts[name] = lone ? final : join(final, name);
    src = { root: final, parts };
  };
}

/** state.json's weightFiles: name prefix -> the file of the trained part. */
export function weightFilesOf(trained: TrainedPart[], set: TrainableSet): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of trained) {
    const prefix = t.sub ? `${t.sub}.` : '';
    if (set.params.some((q) => q.name.startsWith(prefix)))
      out[prefix] = t.sub ? `${t.sub}/${weightsFileName(t.part)}` : weightsFileName(t.part);
  }
  return out;
}
