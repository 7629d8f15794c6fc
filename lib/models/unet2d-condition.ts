/**
 * UNet2DConditionModel: diffusers' conditional UNet (csrc/models/unet2d_condition.cc), loaded
 * from a unet/ folder (config.json + safetensors) or built from its config with random weights.
 */
import type { CallOptions } from '../call-options.js';
import { Tensor } from '../tensor.js';
import type { UNet2DConditionConfig } from './configs.js';
import { EngineModel, loadNative, randomNative, type LoadOptions } from './model.js';

export interface UNetForwardInputs {
  /** Noisy latents [B, in_channels, H, W]. */
  sample: Tensor;
  /** [B], [1] or [] (i64, i32 or f32), or one number for the whole batch. */
  timestep: Tensor | number;
  /** Conditioning [B, L, cross_attention_dim]. */
  encoderHiddenStates: Tensor;
  /** [B, L], 1 = keep (an additive bias (1 - m) * -10000 over the keys). */
  encoderAttentionMask?: Tensor;
}

/** diffusers' UNet2DConditionOutput. */
export interface UNetOutput {
  /** [B, out_channels, H, W]. */
  sample: Tensor;
}

/** A timestep number as a one-element tensor: i64 when it is an integer, else f32. */
export function timestepTensor(t: number): Tensor {
  return Number.isInteger(t) ? Tensor.from(BigInt64Array.of(BigInt(t)), [1]) : Tensor.from([t], [1]);
}

export class UNet2DConditionModel extends EngineModel<UNet2DConditionConfig> {
  /** A unet/ folder; `opts.device` 'cuda' puts it (and the sampling loop) on the GPU. */
  static async load(folder: string, opts: LoadOptions = {}): Promise<UNet2DConditionModel> {
    return new UNet2DConditionModel(await loadNative('unet', folder, opts));
  }

  /**
   * A UNet of real size from its config alone, with seeded random weights (benchmarks without
   * the checkpoint). `config` is a config.json or a folder holding one.
   */
  static async random(config: string, seed = 0, opts: Pick<LoadOptions, 'device'> = {}): Promise<UNet2DConditionModel> {
    return new UNet2DConditionModel(await randomNative('unet', config, seed, opts));
  }

  /** The context width the cross-attention expects (the first block's, when per block). */
  get crossAttentionDim(): number {
    const d = this.config.cross_attention_dim;
    return Array.isArray(d) ? d[0]! : d;
  }

  /** The noise (or v / x0) prediction; records for backward() when an input requires grad. */
  async forward(inputs: UNetForwardInputs, call: CallOptions = {}): Promise<UNetOutput> {
    const t = typeof inputs.timestep === 'number' ? timestepTensor(inputs.timestep) : inputs.timestep;
    try {
      const out = await this.runEngine(
        'forward',
        {
          sample: inputs.sample,
          timestep: t,
          encoder_hidden_states: inputs.encoderHiddenStates,
          encoder_attention_mask: inputs.encoderAttentionMask,
        },
        {},
        call,
      );
      return { sample: out.sample! };
    } finally {
      if (t !== inputs.timestep) t.dispose();
    }
  }
}

/** Short name of UNet2DConditionModel. */
export { UNet2DConditionModel as UNet };
