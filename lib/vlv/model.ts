/**
 * VlvModel: the Vision-Language-Vision auto-encoder as the official code wires it
 * (csrc/models/vlv_*.cc, kind "vlv"): Florence-2's encoder and the BART decoder on learnable
 * queries -> language_proj -> z (the caption embedding) -> the frozen CLIP text encoder -> c;
 * stage 1 conditions the frozen UNet on c (the diffusion loss, reconstruction), stage 2 maps c
 * through an MLP to a prefix of the Qwen2 language model (the caption loss, generation).
 *
 * Loaded from a VLV folder (lib/vlv/folder.ts) with only the parts a caller needs: captioning
 * never loads the UNet or the VAE, reconstruction never loads the language model.
 *
 * Tensors in and out use the engine's names; shapes: pixel values [B, 3, S, S] from the
 * Florence-2 processor, the task prompt's ids [B, L], z and c [B, N, D] (N queries).
 */
import type { CallOptions } from '../call-options.js';
import { VlvError } from '../errors.js';
import { generationAttrs, type GenerateOptions } from '../language/generation-options.js';
import { EngineModel, loadNative, type LoadOptions } from '../models/model.js';
import type { Tensor } from '../tensor.js';
import { resolveVlvFolder, type VlvFolder, type VlvPart } from './folder.js';

/** What a pipeline needs loaded. */
export type VlvUse = 'embed' | 'stage1' | 'reconstruct' | 'caption' | 'stage2' | 'all';

/** The parts each use loads (the heads come with their consumers: query_embed and language_proj with florence2, mlp with the language model). */
export const PARTS_FOR: Record<VlvUse, readonly VlvPart[]> = {
  embed: ['florence2', 'text_encoder'],
  stage1: ['florence2', 'text_encoder', 'unet', 'vae', 'scheduler'],
  reconstruct: ['florence2', 'text_encoder', 'unet', 'vae', 'scheduler'],
  caption: ['florence2', 'text_encoder', 'language_model'],
  stage2: ['florence2', 'text_encoder', 'language_model'],
  all: ['florence2', 'text_encoder', 'unet', 'vae', 'scheduler', 'language_model'],
};

export interface VlvLoadOptions extends LoadOptions {
  /** Which parts to load: a use (default 'all' the folder has) or an explicit list. */
  use?: VlvUse | readonly VlvPart[];
  /**
   * Parts whose weights neither the checkpoint nor their folder holds get seeded random weights
   * (benchmarks at real sizes from configs alone) instead of an error.
   */
  randomSeed?: number;
  /** A device per part, over `device` (e.g. the UNet on the GPU, Florence-2 on the CPU); the model moves tensors between them. */
  devices?: Partial<Record<VlvPart, 'cpu' | 'cuda'>>;
}

/** The image side of every method: processed pixels and the task prompt's ids, or a ready embedding. */
export interface VlvImageInputs {
  /** [B, 3, S, S] from the Florence-2 processor. */
  pixelValues?: Tensor;
  /** The task prompt's ids [B, L] (`<MORE_DETAILED_CAPTION>` as the processor rewrites it). */
  inputIds?: Tensor;
  /** [1, N', d]: queries used in place of the learned query_embed (another query count through the same weights). */
  queryEmbed?: Tensor;
}

export interface VlvEncodeResult {
  encoderHiddenStates: Tensor;
  decoderHiddenStates: Tensor;
  /** The caption embedding [B, N, D]. */
  z: Tensor;
  /** CLIP's output on z [B, N, D]: the UNet's context and the captioner's input. */
  c: Tensor;
}

export interface VlvStage1LossInputs extends VlvImageInputs {
  /** The VAE's input [B, 3, H, W] in [-1, 1]. */
  image: Tensor;
  /** N(0, 1) for the VAE posterior sample, [B, C, h, w]; drawn from `seed` when absent. */
  posteriorNoise?: Tensor;
  /** i64 [B] in [0, num_train_timesteps); drawn when absent. */
  timesteps?: Tensor;
  /** The training noise [B, C, h, w]; drawn when absent. */
  noise?: Tensor;
}

export interface VlvStage1LossResult {
  latents: Tensor;
  noisyLatents: Tensor;
  c: Tensor;
  /** The UNet's output. */
  predNoise: Tensor;
  /** What it is compared to: the noise (epsilon) or the velocity (v_prediction). */
  target: Tensor;
  /** MSE, [1]. */
  loss: Tensor;
  /** i64 [B]: the timesteps used (given or drawn). */
  timesteps: Tensor;
}

export interface VlvReconstructInputs extends VlvImageInputs {
  z?: Tensor;
  c?: Tensor;
  /** The unconditional prompt's ids [1, 77] (CLIP tokenizer of "" padded to 77); needed when guidance > 1. */
  uncondInputIds?: Tensor;
  /** The starting latents [B, C, h, w]; else drawn from `seed`. */
  initLatents?: Tensor;
  /** Each step's noise [steps, B, C, h, w] (DDPM); else drawn from `seed`. */
  stepNoise?: Tensor;
}

export interface VlvReconstructOptions extends CallOptions {
  /** Default 50 (official). */
  steps?: number;
  /** Default 2.0 (official). */
  guidance?: number;
  seed?: number;
  /** The image side in pixels (latents: side / 8 as the official code); default 384. */
  height?: number;
  width?: number;
  /** The sampler, from the folder's scheduler config: 'ddpm' (official), 'ddim', 'euler', 'dpmpp2m'. */
  scheduler?: 'ddpm' | 'ddim' | 'euler' | 'dpmpp2m';
  /** DDIM's eta. */
  eta?: number;
  /** Also return every step's latents and guided noise. */
  trajectory?: boolean;
}

export interface VlvReconstructResult {
  /** [B, 3, H, W] in [0, 1]. */
  image: Tensor;
  /** The VAE's output before /2 + 0.5 and the clamp. */
  decoded: Tensor;
  latents: Tensor;
  cCond: Tensor;
  cUncond?: Tensor;
  timesteps: Tensor;
  /** With `trajectory`: [steps, B, C, h, w]. */
  latentsTrajectory?: Tensor;
  guidedNoise?: Tensor;
}

export interface VlvCaptionInputs extends VlvImageInputs {
  c?: Tensor;
}

export interface VlvGenerateOptions extends GenerateOptions, CallOptions {
  /** The prefix's dtype as generate sees it: 'bf16' (the official cast) or 'f32'. */
  prefixDtype?: 'bf16' | 'f32';
}

export interface VlvGenerateResult {
  /** New tokens only, i64 [B * returned, T] (finished rows padded). */
  ids: Tensor;
  sequencesScores?: Tensor;
  c: Tensor;
  /** mlp(c), f32 [B, N, H]. */
  prefix: Tensor;
}

export interface VlvStage2LossResult {
  prefix: Tensor;
  /** i64 [B, N + T]: -100 on the prefix and on padding. */
  labels: Tensor;
  attentionMask: Tensor;
  loss: Tensor;
}

const tensorsOf = (inputs: VlvImageInputs) => ({
  pixel_values: inputs.pixelValues,
  input_ids: inputs.inputIds,
  query_embed: inputs.queryEmbed,
});

export class VlvModel extends EngineModel<Record<string, unknown>> {
  private constructor(
    handle: Awaited<ReturnType<typeof loadNative>>,
    /** The folder's layout: where each part and the checkpoint came from. */
    readonly folder: VlvFolder,
    /** The parts loaded. */
    readonly loadedParts: readonly VlvPart[],
  ) {
    super(handle);
  }

  /** Loads the parts `opts.use` needs (all the folder has by default) from a VLV folder (lib/vlv/folder.ts). */
  static async load(folder: string, opts: VlvLoadOptions = {}): Promise<VlvModel> {
    const layout = resolveVlvFolder(folder);
    const use = opts.use ?? 'all';
    const wanted = typeof use === 'string' ? PARTS_FOR[use] : use;
    const parts = wanted.filter((p) => layout.parts[p] !== undefined);
    if (typeof use !== 'string' || use !== 'all')
      for (const p of wanted)
        if (!layout.parts[p])
          throw new VlvError('E_FILE', `VLV model: ${layout.root} has no '${p}' part (needed for ${String(use)})`);
    const sources: Record<string, string> = { checkpoint: layout.checkpoint };
    if (layout.overlay) sources.overlay = layout.overlay;
    for (const [part, device] of Object.entries(opts.devices ?? {})) sources[`device.${part}`] = device;
    for (const p of parts) if (p !== 'tokenizer') sources[p] = layout.parts[p]!;
    if (opts.randomSeed !== undefined) {
      if (!Number.isSafeInteger(opts.randomSeed) || opts.randomSeed < 0)
        throw new VlvError('E_ARG', `VLV model: randomSeed must be a non-negative integer, got ${opts.randomSeed}`);
      sources.random_seed = String(opts.randomSeed);
    }
    const handle = await loadNative('vlv', layout.root, { ...opts, sources });
    return new VlvModel(handle, layout, parts);
  }

  /** Stage 1's encoder: z (the caption embedding) and c (CLIP on z). */
  async encode(inputs: VlvImageInputs, call: CallOptions = {}): Promise<VlvEncodeResult> {
    const out = await this.runEngine('encode', tensorsOf(inputs), {}, call);
    return {
      encoderHiddenStates: out.encoder_hidden_states!,
      decoderHiddenStates: out.decoder_hidden_states!,
      z: out.z!,
      c: out.c!,
    };
  }

  /** CLIP's text encoder on a caption embedding z: c. */
  async condition(inputs: { z: Tensor }, call: CallOptions = {}): Promise<{ c: Tensor }> {
    return { c: (await this.runEngine('condition', { z: inputs.z }, {}, call)).c! };
  }

  /** Stage 1's diffusion loss (SDModel.forward); backward() reaches the trainable parameters that require grad. */
  async stage1Loss(
    inputs: VlvStage1LossInputs,
    opts: { seed?: number } & CallOptions = {},
  ): Promise<VlvStage1LossResult> {
    const { seed, ...call } = opts;
    const out = await this.runEngine(
      'loss',
      {
        ...tensorsOf(inputs),
        image: inputs.image,
        posterior_noise: inputs.posteriorNoise,
        timesteps: inputs.timesteps,
        noise: inputs.noise,
      },
      seed === undefined ? {} : { seed },
      call,
    );
    return {
      latents: out.latents!,
      noisyLatents: out.noisy_latents!,
      c: out.c!,
      predNoise: out.pred_noise!,
      target: out.target!,
      loss: out.loss!,
      timesteps: out.timesteps!,
    };
  }

  /** Images from a caption embedding (or from images, through encode): classifier-free guided sampling and the VAE decode. */
  async reconstruct(inputs: VlvReconstructInputs, opts: VlvReconstructOptions = {}): Promise<VlvReconstructResult> {
    const { signal, onProgress, ...o } = opts;
    const out = await this.run(
      'reconstruct',
      {
        ...tensorsOf(inputs),
        z: inputs.z,
        c: inputs.c,
        uncond_input_ids: inputs.uncondInputIds,
        init_latents: inputs.initLatents,
        step_noise: inputs.stepNoise,
      },
      o,
      { signal, onProgress },
    );
    const r: VlvReconstructResult = {
      image: out.image!,
      decoded: out.decoded!,
      latents: out.latents!,
      cCond: out.c_cond!,
      timesteps: out.timesteps!,
    };
    if (out.c_uncond) r.cUncond = out.c_uncond;
    if (out.latents_trajectory) r.latentsTrajectory = out.latents_trajectory;
    if (out.guided_noise) r.guidedNoise = out.guided_noise;
    return r;
  }

  /** Stage 2's prefix: mlp(c). */
  async captionPrefix(inputs: VlvCaptionInputs, call: CallOptions = {}): Promise<{ c: Tensor; prefix: Tensor }> {
    const out = await this.runEngine('caption_prefix', { ...tensorsOf(inputs), c: inputs.c }, {}, call);
    return { c: out.c!, prefix: out.prefix! };
  }

  /** Caption token ids (CLIPDecoder.generate): the prefix cast as `prefixDtype`, then the language model's generate. */
  async generate(inputs: VlvCaptionInputs, options: VlvGenerateOptions = {}): Promise<VlvGenerateResult> {
    const { signal, onProgress, prefixDtype, ...gen } = options;
    const attrs = {
      // eosTokenId null: no end token (the engine's default when none is given).
      ...generationAttrs(gen),
      ...(prefixDtype ? { prefixDtype } : {}),
    };
    const out = await this.run('generate', { ...tensorsOf(inputs), c: inputs.c }, attrs, { signal, onProgress });
    const r: VlvGenerateResult = { ids: out.ids!, c: out.c!, prefix: out.prefix! };
    if (out.sequences_scores) r.sequencesScores = out.sequences_scores;
    return r;
  }

  /** Stage 2's causal-LM loss on captions padded with `padTokenId` (CLIPDecoder.forward). */
  async stage2Loss(
    inputs: VlvCaptionInputs & { captionIds: Tensor },
    opts: { padTokenId: number } & CallOptions,
  ): Promise<VlvStage2LossResult> {
    const { padTokenId, ...call } = opts;
    const out = await this.runEngine(
      'caption_loss',
      { ...tensorsOf(inputs), c: inputs.c, caption_ids: inputs.captionIds },
      { pad_token_id: padTokenId },
      call,
    );
    return { prefix: out.prefix!, labels: out.labels!, attentionMask: out.attention_mask!, loss: out.loss! };
  }

  /** Names of the parameters each stage trains (the official sets): set requiresGrad on these. */
  trainableParameters(stage: 1 | 2): Record<string, Tensor> {
    const all = this.parameters();
    const out: Record<string, Tensor> = {};
    const heads = (n: string) => n.replace(/^VLV_model\./, '');
    for (const [name, t] of Object.entries(all)) {
      const n = heads(name);
      const florenceLm = n.startsWith('model.language_model.');
      const stage1 = florenceLm || n.startsWith('language_proj.') || n === 'query_embed';
      const stage2 = florenceLm || name.startsWith('mlp.') || name.startsWith('qwen2_model.');
      if (stage === 1 ? stage1 : stage2) out[name] = t;
    }
    return out;
  }
}
