/**
 * ClipTextModel: transformers' CLIPTextModel (csrc/models/clip_text.cc), loaded from a
 * text_encoder/ folder. Besides input ids it takes inputs_embeds (VLV's path: caption
 * embeddings replace the token embeddings; positions are still added).
 */
import type { CallOptions } from '../call-options.js';
import type { Tensor } from '../tensor.js';
import type { ClipTextConfig } from './configs.js';
import { EngineModel, loadNative, randomNative, type LoadOptions } from './model.js';

/** Exactly one of inputIds and inputsEmbeds. */
export interface ClipTextInputs {
  /** Token ids [B, L] (i32 / i64). */
  inputIds?: Tensor;
  /** Embeddings [B, L, hidden_size] in place of the token embeddings. */
  inputsEmbeds?: Tensor;
  /** [B, L], 1 = attend. */
  attentionMask?: Tensor;
}

export interface ClipTextForwardOptions extends CallOptions {
  /**
   * diffusers' clip_skip: promptEmbeds = final_layer_norm(hiddenStates[-(clipSkip + 1)]);
   * 0 (default): promptEmbeds = lastHiddenState.
   */
  clipSkip?: number;
}

export interface ClipTextOutput {
  /** [B, L, H], after final_layer_norm. */
  lastHiddenState: Tensor;
  /** hiddenStates[-2] (no final norm). */
  penultimateHiddenState: Tensor;
  /** The embeddings, then every layer's output (num_hidden_layers + 1 tensors). */
  hiddenStates: Tensor[];
  /** [B, H] at each row's end token; with inputIds only. */
  poolerOutput?: Tensor;
  /** What conditions a UNet (see clipSkip). */
  promptEmbeds: Tensor;
}

export class ClipTextModel extends EngineModel<ClipTextConfig> {
  static async load(folder: string, opts: LoadOptions = {}): Promise<ClipTextModel> {
    return new ClipTextModel(await loadNative('clip_text', folder, opts));
  }

  /** A text encoder from its config alone with seeded random weights (`config`: a config.json or its folder). */
  static async random(config: string, seed = 0, opts: Pick<LoadOptions, 'device'> = {}): Promise<ClipTextModel> {
    return new ClipTextModel(await randomNative('clip_text', config, seed, opts));
  }

  async forward(inputs: ClipTextInputs, options: ClipTextForwardOptions = {}): Promise<ClipTextOutput> {
    const { clipSkip, ...call } = options;
    const out = await this.runEngine(
      'forward',
      { input_ids: inputs.inputIds, inputs_embeds: inputs.inputsEmbeds, attention_mask: inputs.attentionMask },
      clipSkip === undefined ? {} : { clip_skip: clipSkip },
      call,
    );
    const hiddenStates: Tensor[] = [];
    for (let i = 0; out[`hidden_states.${i}`]; i++) hiddenStates.push(out[`hidden_states.${i}`]!);
    return {
      lastHiddenState: out.last_hidden_state!,
      penultimateHiddenState: out.penultimate_hidden_state!,
      hiddenStates,
      ...(out.pooler_output ? { poolerOutput: out.pooler_output } : {}),
      promptEmbeds: out.prompt_embeds!,
    };
  }
}
