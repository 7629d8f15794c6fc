/**
 * Typed views of the diffusers config files a pipeline folder holds. The engine reads and
 * checks every field itself (csrc/models: a field it does not honour is an error naming it);
 * these types are what TypeScript callers see, and what the pipeline needs before any model
 * runs (latent channels, the VAE's downsampling factor, the text encoder's width).
 */
import { readFile } from 'node:fs/promises';
import { VlvError } from '../errors.js';

/** diffusers UNet2DConditionModel's config.json (the fields SD 1.x / 2.x use). */
export interface UNet2DConditionConfig {
  _class_name?: 'UNet2DConditionModel';
  in_channels: number;
  out_channels: number;
  sample_size?: number;
  block_out_channels: number[];
  layers_per_block: number | number[];
  attention_head_dim: number | number[];
  cross_attention_dim: number | number[];
  down_block_types: string[];
  up_block_types: string[];
  mid_block_type?: string;
  use_linear_projection?: boolean;
  upcast_attention?: boolean;
  only_cross_attention?: boolean | boolean[];
  transformer_layers_per_block?: number | number[];
  norm_num_groups: number;
  norm_eps?: number;
  flip_sin_to_cos?: boolean;
  freq_shift?: number;
  act_fn?: string;
  [field: string]: unknown;
}

/** diffusers AutoencoderKL's config.json. */
export interface AutoencoderKLConfig {
  _class_name?: 'AutoencoderKL';
  in_channels: number;
  out_channels: number;
  latent_channels: number;
  block_out_channels: number[];
  layers_per_block: number;
  norm_num_groups?: number;
  sample_size?: number;
  scaling_factor?: number;
  shift_factor?: number | null;
  [field: string]: unknown;
}

export type SchedulerClass =
  'DDPMScheduler' | 'DDIMScheduler' | 'EulerDiscreteScheduler' | 'DPMSolverMultistepScheduler';

/** diffusers' scheduler_config.json (the fields SD 2.1 uses). */
export interface SchedulerConfig {
  _class_name: SchedulerClass;
  num_train_timesteps?: number;
  beta_start?: number;
  beta_end?: number;
  beta_schedule?: 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
  prediction_type?: 'epsilon' | 'v_prediction' | 'sample';
  steps_offset?: number;
  set_alpha_to_one?: boolean;
  clip_sample?: boolean;
  timestep_spacing?: 'leading' | 'linspace' | 'trailing';
  [field: string]: unknown;
}

/** transformers CLIPTextModel's config.json. */
export interface ClipTextConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  max_position_embeddings: number;
  hidden_act?: 'gelu' | 'quick_gelu';
  [field: string]: unknown;
}

/** A diffusers pipeline's model_index.json: component name -> [library, class] (or null). */
export interface ModelIndex {
  _class_name?: string;
  _diffusers_version?: string;
  [component: string]: unknown;
}

/** Reads a JSON object (Python's NaN / Infinity, which diffusers writes, are accepted). */
export async function readJsonConfig<T>(path: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new VlvError('E_FILE', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  const sanitized = text.replace(/(?<=[:[,]\s*)(-?)(Infinity|NaN)(?=\s*[,\]}])/g, (_m, sign: string, word: string) =>
    word === 'NaN' ? 'null' : sign === '-' ? '-1e999' : '1e999',
  );
  let value: unknown;
  try {
    value = JSON.parse(sanitized);
  } catch (e) {
    throw new VlvError('E_FILE_FORMAT', `${path}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new VlvError('E_FILE_FORMAT', `${path}: expected a JSON object`);
  return value as T;
}

/** The VAE's spatial downsampling factor: 2^(number of blocks - 1), as diffusers' vae_scale_factor. */
export function vaeScaleFactor(vae: AutoencoderKLConfig): number {
  if (!Array.isArray(vae.block_out_channels) || vae.block_out_channels.length === 0)
    throw new VlvError('E_ARG', 'vae config: block_out_channels must be a non-empty list');
  return 2 ** (vae.block_out_channels.length - 1);
}

/** The context width a UNet's cross-attention expects (the first block's, when per block). */
export function unetContextDim(unet: UNet2DConditionConfig): number {
  const d = unet.cross_attention_dim;
  return Array.isArray(d) ? (d[0] ?? 0) : d;
}
