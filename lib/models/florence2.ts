/**
 * Florence2Model: Florence-2 (Florence2ForConditionalGeneration, the remote code) as VLV uses
 * it (csrc/models/florence2.cc): the DaViT vision tower and image projection, the prompt merge,
 * the BART encoder, the decoder driven by learnable queries, and Florence-2's own token
 * generation. Loaded from a Florence-2 folder (config.json + safetensors).
 */
import type { CallOptions } from '../call-options.js';
import { generationAttrs, type GenerateOptions } from '../language/generation-options.js';
import type { Tensor } from '../tensor.js';
import type { Florence2Config } from './configs.js';
import { EngineModel, loadNative, randomNative, type LoadOptions } from './model.js';

export interface Florence2DecoderInputs {
  /** The queries [B, Q, d_model]. */
  inputsEmbeds: Tensor;
  /** [B, Q], nonzero = attend. */
  attentionMask?: Tensor;
  /** The encoder's states [B, S, d_model] (no cross-attention without them). */
  encoderHiddenStates?: Tensor;
  /** [B, S]. */
  encoderAttentionMask?: Tensor;
}

export interface Florence2GenerateInputs {
  /** [B, 3, H, W] (Florence2Processor's pixel values). */
  pixelValues: Tensor;
  /** The prompt's ids [B, L]. */
  inputIds: Tensor;
  /** [B, L]; the reference drops it (its encoder sees every token), vlv honours one when given. */
  attentionMask?: Tensor;
}

export interface Florence2GenerateResult {
  /** Each returned sequence's tokens (finished rows padded). */
  ids: number[][];
  /** Beam search: each returned sequence's score. */
  scores?: number[];
}

/** Rows of an i64 / i32 [R, N] tensor as numbers. */
function rowsOf(t: Tensor): number[][] {
  const [r, n] = t.shape as [number, number];
  const flat = Array.from(t.toArray() as ArrayLike<number | bigint>, Number);
  return Array.from({ length: r }, (_, i) => flat.slice(i * n, (i + 1) * n));
}

export class Florence2Model extends EngineModel<Florence2Config> {
  static async load(folder: string, opts: LoadOptions = {}): Promise<Florence2Model> {
    return new Florence2Model(await loadNative('florence2', folder, opts));
  }

  /** A Florence-2 from its config alone with seeded random weights (`config`: a config.json or its folder). */
  static async random(config: string, seed = 0, opts: Pick<LoadOptions, 'device'> = {}): Promise<Florence2Model> {
    return new Florence2Model(await randomNative('florence2', config, seed, opts));
  }

  /** The DaViT tower's tokens [B, h*w, dim_embed[-1]]. */
  async visionTower(inputs: { pixelValues: Tensor }, call: CallOptions = {}): Promise<{ features: Tensor }> {
    return {
      features: (await this.runEngine('vision_tower', { pixel_values: inputs.pixelValues }, {}, call)).features!,
    };
  }

  /** The projected image tokens [B, tokens, projection_dim] (the reference's _encode_image). */
  async imageFeatures(inputs: { pixelValues: Tensor }, call: CallOptions = {}): Promise<{ imageFeatures: Tensor }> {
    const out = await this.runEngine('image_features', { pixel_values: inputs.pixelValues }, {}, call);
    return { imageFeatures: out.image_features! };
  }

  /** Image tokens followed by the prompt's embeddings (shared table, no scale), and an all-ones mask. */
  async merge(
    inputs: { imageFeatures: Tensor; inputIds?: Tensor },
    call: CallOptions = {},
  ): Promise<{ inputsEmbeds: Tensor; attentionMask: Tensor }> {
    const out = await this.runEngine(
      'merge',
      { image_features: inputs.imageFeatures, input_ids: inputs.inputIds },
      {},
      call,
    );
    return { inputsEmbeds: out.inputs_embeds!, attentionMask: out.attention_mask! };
  }

  /** The BART encoder over embeddings. */
  async encoder(
    inputs: { inputsEmbeds: Tensor; attentionMask?: Tensor },
    call: CallOptions = {},
  ): Promise<{ lastHiddenState: Tensor }> {
    const out = await this.runEngine(
      'encoder',
      { inputs_embeds: inputs.inputsEmbeds, attention_mask: inputs.attentionMask },
      {},
      call,
    );
    return { lastHiddenState: out.last_hidden_state! };
  }

  /** The BART decoder on learnable queries (causal self-attention, cross-attention to the encoder). */
  async queryDecoder(inputs: Florence2DecoderInputs, call: CallOptions = {}): Promise<{ lastHiddenState: Tensor }> {
    const out = await this.runEngine(
      'query_decoder',
      {
        inputs_embeds: inputs.inputsEmbeds,
        attention_mask: inputs.attentionMask,
        encoder_hidden_states: inputs.encoderHiddenStates,
        encoder_attention_mask: inputs.encoderAttentionMask,
      },
      {},
      call,
    );
    return { lastHiddenState: out.last_hidden_state! };
  }

  /** lm_head + final_logits_bias: [..., d_model] -> [..., vocab_size]. */
  async lmHead(inputs: { hiddenStates: Tensor }, call: CallOptions = {}): Promise<{ logits: Tensor }> {
    return { logits: (await this.runEngine('lm_head', { hidden_states: inputs.hiddenStates }, {}, call)).logits! };
  }

  /**
   * Florence-2's own generation (the baseline captioner): options override text_config's
   * generation fields; eosTokenId null means no end token.
   */
  async generate(
    inputs: Florence2GenerateInputs,
    options: GenerateOptions & CallOptions = {},
  ): Promise<Florence2GenerateResult> {
    const { signal, onProgress, ...gen } = options;
    const attrs = { ...generationAttrs(gen), ...(gen.eosTokenId === null ? { eosTokenId: [-1] } : {}) };
    const out = await this.run(
      'generate',
      { pixel_values: inputs.pixelValues, input_ids: inputs.inputIds, attention_mask: inputs.attentionMask },
      attrs,
      { signal, onProgress },
    );
    const result: Florence2GenerateResult = { ids: rowsOf(out.ids!) };
    if (out.sequences_scores) result.scores = Array.from(out.sequences_scores.toArray() as Float32Array);
    for (const t of Object.values(out)) t.dispose();
    return result;
  }
}
