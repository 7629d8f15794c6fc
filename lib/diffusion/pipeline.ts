/**
 * Loaders for the diffusion side: a diffusers pipeline folder (model_index.json naming unet/,
 * vae/, text_encoder/, tokenizer/, scheduler/) or single component folders. Each component is
 * the engine's model (Model.load: config + safetensors, sharded or not, every weight used and
 * every config field honoured) next to its typed config.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VlvError } from '../errors.js';
import { Model, type LoadModelOptions } from '../models/model.js';
import type { Tokenizer } from '../tokenizer.js';
import { loadTokenizer } from '../tokenizer-files.js';
import {
  readJsonConfig,
  type AutoencoderKLConfig,
  type ClipTextConfig,
  type ModelIndex,
  type SchedulerConfig,
  type UNet2DConditionConfig,
} from './configs.js';

/** A loaded model with the config it was built from. */
export interface Loaded<C> {
  model: Model;
  config: C;
  folder: string;
}

export type LoadedUNet = Loaded<UNet2DConditionConfig>;
export type LoadedVae = Loaded<AutoencoderKLConfig>;
export type LoadedScheduler = Loaded<SchedulerConfig>;
export type LoadedTextEncoder = Loaded<ClipTextConfig>;

export interface DiffusionPipeline {
  unet: LoadedUNet;
  vae: LoadedVae;
  scheduler: LoadedScheduler;
  /** Present when the folder has them (text-to-image). */
  textEncoder?: LoadedTextEncoder;
  tokenizer?: Tokenizer;
  dispose(): void;
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

/** Loads the engine model `kind` from `folder` with its config (`configFile` in that folder). */
async function loadComponent<C>(
  kind: string,
  folder: string,
  configFile: string,
  opts: LoadModelOptions = {},
): Promise<Loaded<C>> {
  await requireDir(folder, kind);
  const config = await readJsonConfig<C>(join(folder, configFile));
  return { model: await Model.load(kind, folder, opts), config, folder };
}

/** The UNet of a folder; `opts.device` 'cuda' puts it (and the sampling loop) on the GPU. */
export const loadUNet = (folder: string, opts: LoadModelOptions = {}): Promise<LoadedUNet> =>
  loadComponent('unet', folder, 'config.json', opts);
export const loadVae = (folder: string, opts: LoadModelOptions = {}): Promise<LoadedVae> =>
  loadComponent('vae', folder, 'config.json', opts);
export const loadScheduler = (folder: string): Promise<LoadedScheduler> =>
  loadComponent('scheduler', folder, 'scheduler_config.json');
export const loadTextEncoder = (folder: string): Promise<LoadedTextEncoder> =>
  loadComponent('clip_text', folder, 'config.json');

/**
 * A UNet of real size from its config alone, with seeded random weights (benchmarks without
 * the checkpoint). `config` is a config.json or a folder holding one.
 */
export async function randomUNet(
  config: string,
  seed = 0,
  opts: Pick<LoadModelOptions, 'device'> = {},
): Promise<LoadedUNet> {
  const path = (await isDir(config)) ? join(config, 'config.json') : config;
  return { model: await Model.random('unet', path, seed, opts), config: await readJsonConfig(path), folder: path };
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
 * Loads a diffusers pipeline folder: model_index.json names the components; unet, vae and
 * scheduler are required, text_encoder + tokenizer loaded when listed. Components vlv does not
 * use for sampling (safety_checker, feature_extractor) must be null or absent.
 */
export async function loadPipeline(folder: string): Promise<DiffusionPipeline> {
  await requireDir(folder, 'pipeline');
  const indexPath = join(folder, 'model_index.json');
  const index = await readJsonConfig<ModelIndex>(indexPath);
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

  const loaded: Model[] = [];
  const track = async <T extends { model: Model }>(p: Promise<T>): Promise<T> => {
    const r = await p;
    loaded.push(r.model);
    return r;
  };
  try {
    const unet = await track(loadUNet(dirs.unet!));
    const vae = await track(loadVae(dirs.vae!));
    const scheduler = await track(loadScheduler(dirs.scheduler!));
    const textEncoder = dirs.text_encoder ? await track(loadTextEncoder(dirs.text_encoder)) : undefined;
    const tokenizer = dirs.tokenizer ? await loadTokenizer(dirs.tokenizer, { family: 'clip' }) : undefined;
    return { unet, vae, scheduler, textEncoder, tokenizer, dispose: () => loaded.forEach((m) => m.dispose()) };
  } catch (e) {
    for (const m of loaded) m.dispose();
    throw e;
  }
}
