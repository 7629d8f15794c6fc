/**
 * AutoencoderKL: diffusers' VAE (csrc/models/autoencoder_kl.cc), loaded from a vae/ folder.
 * encode() gives the posterior (mean, logvar; with noise also a sample), decode() the image.
 * Neither applies scaling_factor: pipelines divide latents by it first (config.scaling_factor).
 */
import type { CallOptions } from '../call-options.js';
import type { Tensor } from '../tensor.js';
import type { AutoencoderKLConfig } from './configs.js';
import { EngineModel, loadNative, randomNative, type LoadOptions } from './model.js';

export interface VaeEncodeInputs {
  /** Images [N, in_channels, H, W] (f32, usually in [-1, 1]). */
  sample: Tensor;
  /** Standard normal noise shaped like the mean: with it, latentSample = mean + exp(logvar / 2) * noise. */
  noise?: Tensor;
}

/** The DiagonalGaussianDistribution of diffusers' AutoencoderKLOutput. */
export interface VaeEncodeOutput {
  mean: Tensor;
  /** Clamped to [-30, 20] as diffusers does. */
  logvar: Tensor;
  /** Present when noise was given. */
  latentSample?: Tensor;
}

export interface VaeDecodeInputs {
  /** Latents [N, latent_channels, h, w] (already divided by scaling_factor). */
  latent: Tensor;
}

/** diffusers' DecoderOutput. */
export interface VaeDecodeOutput {
  sample: Tensor;
}

export class AutoencoderKL extends EngineModel<AutoencoderKLConfig> {
  static async load(folder: string, opts: LoadOptions = {}): Promise<AutoencoderKL> {
    return new AutoencoderKL(await loadNative('vae', folder, opts));
  }

  /** A VAE from its config alone with seeded random weights (`config`: a config.json or its folder). */
  static async random(config: string, seed = 0, opts: Pick<LoadOptions, 'device'> = {}): Promise<AutoencoderKL> {
    return new AutoencoderKL(await randomNative('vae', config, seed, opts));
  }

  /** The spatial downsampling factor: 2^(blocks - 1), diffusers' vae_scale_factor. */
  get scaleFactor(): number {
    return 2 ** (this.config.block_out_channels.length - 1);
  }

  async encode(inputs: VaeEncodeInputs, call: CallOptions = {}): Promise<VaeEncodeOutput> {
    const out = await this.runEngine('encode', { sample: inputs.sample, noise: inputs.noise }, {}, call);
    return { mean: out.mean!, logvar: out.logvar!, ...(out.latent_sample ? { latentSample: out.latent_sample } : {}) };
  }

  async decode(inputs: VaeDecodeInputs, call: CallOptions = {}): Promise<VaeDecodeOutput> {
    return { sample: (await this.runEngine('decode', { latent: inputs.latent }, {}, call)).sample! };
  }
}
