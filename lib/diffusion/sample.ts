/**
 * Guided sampling and text-to-image. The loop itself is in the engine
 * (csrc/models/guided_sample.cc): per step ONE batched UNet call on [uncond; cond] and ONE
 * fused scheduler step that also applies the guidance; then the VAE decode. It runs on the
 * UNet's device; on CUDA the UNet call is replayed from a CUDA graph from the second step.
 * This file checks the request, derives the latent shape from the typed configs, and
 * (text-to-image) runs the tokenizer and the CLIP text encoder in front.
 */
import { nativeCallArgs, type CallOptions } from '../call-options.js';
import { VlvError, wrapAsync } from '../errors.js';
import { native, type NativeTensor } from '../native.js';
import { noGrad } from '../grad-mode.js';
import { engineAttrs } from '../options.js';
import { Tensor } from '../tensor.js';
import type { Tokenizer } from '../tokenizer.js';
import { unetContextDim, vaeScaleFactor } from './configs.js';
import type { LoadedScheduler, LoadedTextEncoder, LoadedUNet, LoadedVae } from './pipeline.js';

export interface SampleOptions extends CallOptions {
  unet: LoadedUNet;
  vae: LoadedVae;
  scheduler: LoadedScheduler;
  /** Conditioning [B, L, D] (D = the UNet's cross_attention_dim). */
  context: Tensor;
  /** Unconditional conditioning [B or 1, L, D]; without it (or guidanceScale <= 1) no guidance. */
  uncondContext?: Tensor;
  /** Classifier-free guidance scale g: eps_u + g (eps_c - eps_u). Default 7.5. */
  guidanceScale?: number;
  /** Denoising steps. Default 20. */
  steps?: number;
  /** Seeds the initial noise (engine Philox randn) and any stochastic step. Default 0. */
  seed?: number;
  /** Image size in pixels, multiples of the VAE's downsampling factor. Default: the UNet's sample_size x factor. */
  height?: number;
  width?: number;
  /** DDIM's eta (0 = deterministic). */
  eta?: number;
  /**
   * On CUDA, capture the UNet call into a CUDA graph at the second step and replay it after
   * (fewer launches; the same numbers). Default true; ignored on the CPU.
   */
  cudaGraphs?: boolean;
}

export interface SampleResult {
  /** RGB [B, 3, H, W] in [0, 1]. */
  images: Tensor;
  /** The final latents [B, C, H/f, W/f] (before the VAE's scaling). */
  latents: Tensor;
  /** Steps whose UNet call replayed a CUDA graph (0 on the CPU or with cudaGraphs false). */
  graphReplays: number;
  /** Why CUDA graphs were given up during this sample ('' when they were not). */
  graphNote: string;
}

// A scheduler holds one loop's state (its timesteps, DPM-Solver's history): samples that share
// one run one after another.
const schedulerQueue = new WeakMap<object, Promise<unknown>>();

function queued<T>(scheduler: object, fn: () => Promise<T>): Promise<T> {
  const prev = schedulerQueue.get(scheduler) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  schedulerQueue.set(
    scheduler,
    next.catch(() => undefined),
  );
  return next;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new VlvError('E_ARG', `sample: ${name} must be a positive integer, got ${value}`);
  return value;
}

function latentSide(pixels: number, factor: number, name: string): number {
  positiveInt(pixels, name);
  if (pixels % factor !== 0)
    throw new VlvError(
      'E_ARG',
      `sample: ${name} ${pixels} must be a multiple of the VAE's downsampling factor ${factor}`,
    );
  return pixels / factor;
}

/**
 * Samples images with classifier-free guidance. Progress: ('denoise', i, steps); the signal
 * aborts within one step (E_ABORTED). Samples sharing a scheduler are run one at a time.
 */
export async function sample(opts: SampleOptions): Promise<SampleResult> {
  const { unet, vae, scheduler, context } = opts;
  const factor = vaeScaleFactor(vae.config);
  const fallback = (unet.config.sample_size ?? 64) * factor;
  const height = latentSide(opts.height ?? fallback, factor, 'height');
  const width = latentSide(opts.width ?? fallback, factor, 'width');
  const steps = positiveInt(opts.steps ?? 20, 'steps');
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new VlvError('E_ARG', `sample: seed must be a non-negative integer, got ${seed}`);
  const guidance = opts.guidanceScale ?? 7.5;
  if (!Number.isFinite(guidance)) throw new VlvError('E_ARG', `sample: guidanceScale must be finite, got ${guidance}`);
  const dim = unetContextDim(unet.config);
  const shape = context.shape;
  if (shape.length !== 3 || shape[2] !== dim)
    throw new VlvError(
      'E_SHAPE',
      `sample: context must be [B, L, ${dim}] (the UNet's cross_attention_dim), got [${shape.join(', ')}]`,
    );
  if (vae.config.latent_channels !== unet.config.in_channels)
    throw new VlvError(
      'E_ARG',
      `sample: the VAE's latent_channels ${vae.config.latent_channels} differ from the UNet's in_channels ${unet.config.in_channels}`,
    );

  const inputs: Record<string, NativeTensor> = { context: context.native };
  if (opts.uncondContext) inputs.uncond_context = opts.uncondContext.native;
  const options = engineAttrs(
    {
      steps,
      guidance,
      seed,
      latentChannels: unet.config.in_channels,
      latentHeight: height,
      latentWidth: width,
      eta: opts.eta ?? 0,
      cudaGraphs: opts.cudaGraphs === false ? 0 : 1,
    },
    'sample',
  );
  return queued(scheduler.model, async () => {
    const args = nativeCallArgs(opts);
    const out = await wrapAsync(() =>
      args.settle(() =>
        native.guidedSample(
          unet.model.native,
          vae.model.native,
          scheduler.model.native,
          inputs,
          options,
          args.token,
          args.progress,
        ),
      ),
    );
    return {
      images: new Tensor(out.images),
      latents: new Tensor(out.latents),
      graphReplays: out.graphReplays,
      graphNote: out.graphNote,
    };
  });
}

export interface TextToImageOptions extends Omit<SampleOptions, 'context' | 'uncondContext'> {
  textEncoder: LoadedTextEncoder;
  tokenizer: Tokenizer;
  prompt: string | string[];
  /** Default '' (diffusers' unconditional prompt). */
  negativePrompt?: string | string[];
  /**
   * Which hidden state conditions the UNet: 'last' (last_hidden_state, after the final layer
   * norm: what diffusers' SD 2.1 pipeline uses, its converted text encoder already stops one
   * layer early) or 'penultimate' (diffusers' clip_skip = 1: hidden_states[-2] through the final
   * layer norm). Default 'last'.
   */
  contextLayer?: 'last' | 'penultimate';
}

/** Prompts to context [B, 77, D]: ids padded / truncated to the encoder's positions. */
export async function encodePrompts(
  textEncoder: LoadedTextEncoder,
  tokenizer: Tokenizer,
  prompts: readonly string[],
  layer: 'last' | 'penultimate' = 'last',
  call: CallOptions = {},
): Promise<Tensor> {
  const maxLength = textEncoder.config.max_position_embeddings;
  const { ids } = tokenizer.encodeBatch(prompts, { padding: 'max_length', maxLength, truncation: true });
  const idTensor = Tensor.from(
    BigInt64Array.from(ids.flat(), (v) => BigInt(v)),
    [ids.length, maxLength],
    'i64',
  );
  try {
    const clipSkip = layer === 'last' ? 0 : 1;
    const out = await noGrad(() => textEncoder.model.run('forward', { input_ids: idTensor }, { clipSkip }, call));
    const key = 'prompt_embeds';
    for (const [k, t] of Object.entries(out)) if (k !== key) t.dispose();
    return out[key]!;
  } finally {
    idTensor.dispose();
  }
}

/** Text-to-image: the prompt(s) through the tokenizer and the CLIP text encoder, then sample(). */
export async function textToImage(opts: TextToImageOptions): Promise<SampleResult> {
  const prompts = typeof opts.prompt === 'string' ? [opts.prompt] : opts.prompt;
  if (prompts.length === 0) throw new VlvError('E_ARG', 'textToImage: no prompt');
  const negative = opts.negativePrompt ?? '';
  const negatives = typeof negative === 'string' ? prompts.map(() => negative) : negative;
  if (negatives.length !== prompts.length)
    throw new VlvError('E_ARG', `textToImage: ${negatives.length} negative prompts for ${prompts.length} prompts`);
  const call = { signal: opts.signal };
  const layer = opts.contextLayer ?? 'last';
  const context = await encodePrompts(opts.textEncoder, opts.tokenizer, prompts, layer, call);
  const guided = (opts.guidanceScale ?? 7.5) > 1;
  const uncond = guided ? await encodePrompts(opts.textEncoder, opts.tokenizer, negatives, layer, call) : undefined;
  try {
    return await sample({ ...opts, context, uncondContext: uncond });
  } finally {
    context.dispose();
    uncond?.dispose();
  }
}
