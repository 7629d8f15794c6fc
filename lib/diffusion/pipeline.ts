/**
 * A diffusers pipeline folder (model_index.json naming unet/, vae/, text_encoder/, tokenizer/,
 * scheduler/) loaded as the model classes: each component through its own load()
 * (config + safetensors read by the engine, every weight used and every config field
 * honoured), its typed config on `.config`. model_index.json (not a model config) is read here.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VlvError } from '../errors.js';
import { AutoencoderKL } from '../models/autoencoder-kl.js';
import { ClipTextModel } from '../models/clip-text.js';
import type { LoadOptions } from '../models/model.js';
import { Scheduler } from '../models/scheduler.js';
import { UNet2DConditionModel } from '../models/unet2d-condition.js';
import type { Tokenizer } from '../tokenizer.js';
import { loadTokenizer } from '../tokenizer-files.js';

/** A diffusers pipeline's model_index.json: component name -> [library, class] (or null). */
export interface ModelIndex {
  _class_name?: string;
  _diffusers_version?: string;
  [component: string]: unknown;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function requireDir(path: string, what: string): Promise<void> {
  if (!(await isDir(path))) throw new VlvError('E_FILE', `${what}: ${path} is not a folder`);
}

/** model_index.json as an object. */
async function readModelIndex(path: string): Promise<ModelIndex> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new VlvError('E_FILE', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new VlvError('E_FILE_FORMAT', `${path}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new VlvError('E_FILE_FORMAT', `${path}: expected a JSON object`);
  return value as ModelIndex;
}

/** The folder model_index.json gives a component, or undefined when it lists none (or null). */
function componentFolder(index: ModelIndex, root: string, name: string, indexPath: string): string | undefined {
  const entry = index[name];
  if (entry === undefined || entry === null) return undefined;
  if (!Array.isArray(entry) || entry.length !== 2)
    throw new VlvError('E_FILE_FORMAT', `${indexPath}: "${name}" must be [library, class] or null`);
  if (entry[0] === null || entry[1] === null) return undefined;
  return join(root, name);
}

const REQUIRED = ['unet', 'vae', 'scheduler'] as const;

/** Which classes of model_index.json vlv loads per component (anything else is refused by name). */
const CLASSES: Record<string, string[]> = {
  unet: ['UNet2DConditionModel'],
  vae: ['AutoencoderKL'],
  scheduler: ['DDPMScheduler', 'DDIMScheduler', 'EulerDiscreteScheduler', 'DPMSolverMultistepScheduler'],
  text_encoder: ['CLIPTextModel'],
  tokenizer: ['CLIPTokenizer', 'CLIPTokenizerFast'],
};

/**
 * A loaded diffusers pipeline: unet, vae and scheduler, and the text encoder + tokenizer when
 * the folder has them (text-to-image). dispose() frees every model.
 */
export class DiffusionPipeline {
  private constructor(
    readonly unet: UNet2DConditionModel,
    readonly vae: AutoencoderKL,
    readonly scheduler: Scheduler,
    readonly textEncoder?: ClipTextModel,
    readonly tokenizer?: Tokenizer,
  ) {}

  /**
   * Loads a diffusers pipeline folder: model_index.json names the components; unet, vae and
   * scheduler are required, text_encoder + tokenizer loaded when listed. Components vlv does
   * not use for sampling (safety_checker, feature_extractor) must be null or absent.
   * `opts.device` puts the unet, vae and text encoder there.
   */
  static async load(folder: string, opts: LoadOptions = {}): Promise<DiffusionPipeline> {
    await requireDir(folder, 'pipeline');
    const indexPath = join(folder, 'model_index.json');
    const index = await readModelIndex(indexPath);
    const dirs: Record<string, string | undefined> = {};
    for (const [name, entry] of Object.entries(index)) {
      if (name.startsWith('_') || name === 'requires_safety_checker') continue;
      const dir = componentFolder(index, folder, name, indexPath);
      if (!dir) continue;
      const allowed = CLASSES[name];
      if (!allowed)
        throw new VlvError('E_ARG', `${indexPath}: component "${name}" is not supported (set it to null to skip it)`);
      const cls = (entry as unknown[])[1];
      if (!allowed.includes(String(cls)))
        throw new VlvError(
          'E_ARG',
          `${indexPath}: ${name} class ${String(cls)} is not supported (${allowed.join(', ')})`,
        );
      dirs[name] = dir;
    }
    for (const name of REQUIRED)
      if (!dirs[name]) throw new VlvError('E_FILE_FORMAT', `${indexPath}: the pipeline has no "${name}"`);
    if (!!dirs.text_encoder !== !!dirs.tokenizer)
      throw new VlvError('E_FILE_FORMAT', `${indexPath}: text_encoder and tokenizer come together`);

    const loaded: { dispose(): void }[] = [];
    const track = async <T extends { dispose(): void }>(p: Promise<T>): Promise<T> => {
      const m = await p;
      loaded.push(m);
      return m;
    };
    try {
      const unet = await track(UNet2DConditionModel.load(dirs.unet!, opts));
      const vae = await track(AutoencoderKL.load(dirs.vae!, opts));
      const scheduler = await track(Scheduler.load(dirs.scheduler!));
      const textEncoder = dirs.text_encoder ? await track(ClipTextModel.load(dirs.text_encoder, opts)) : undefined;
      const tokenizer = dirs.tokenizer ? await loadTokenizer(dirs.tokenizer, { family: 'clip' }) : undefined;
      return new DiffusionPipeline(unet, vae, scheduler, textEncoder, tokenizer);
    } catch (e) {
      for (const m of loaded) m.dispose();
      throw e;
    }
  }

  dispose(): void {
    for (const m of [this.unet, this.vae, this.scheduler, this.textEncoder]) m?.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
  [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
    return Promise.resolve();
  }
}

/** DiffusionPipeline.load(folder, opts). */
export const loadPipeline = (folder: string, opts: LoadOptions = {}): Promise<DiffusionPipeline> =>
  DiffusionPipeline.load(folder, opts);
