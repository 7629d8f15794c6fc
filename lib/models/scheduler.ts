/**
 * Scheduler: diffusers' DDPM / DDIM / Euler / DPM-Solver++ schedulers
 * (csrc/models/schedulers/), loaded from a folder's scheduler_config.json (its _class_name
 * picks the class). One instance holds one sampling loop's state (timesteps, DPM-Solver's
 * history): set_timesteps first, then scale / step per timestep.
 */
import type { CallOptions } from '../call-options.js';
import type { Tensor } from '../tensor.js';
import type { SchedulerConfig } from './configs.js';
import { EngineModel, loadNative } from './model.js';

export interface Schedule {
  /** Descending (i64; Euler: f32). */
  timesteps: Tensor;
  /** Euler, DPM-Solver: steps + 1 values. */
  sigmas?: Tensor;
  /** [num_train_timesteps]. */
  alphasCumprod: Tensor;
  /** [1]: the initial noise's standard deviation. */
  initNoiseSigma: Tensor;
}

export interface SchedulerStepInputs {
  sample: Tensor;
  /** The model's prediction; [uncond; cond] (twice sample's batch) with `guidance`. */
  modelOutput: Tensor;
  /** The variance noise of a stochastic step (else drawn from seed / offset). */
  noise?: Tensor;
}

export interface SchedulerStepOptions extends CallOptions {
  timestep: number;
  /** Classifier-free guidance folded into the step: uncond + guidance (cond - uncond). */
  guidance?: number;
  /** DDIM's eta (0: deterministic). */
  eta?: number;
  /** DDIM: re-derive eps from the clipped x0. */
  useClippedModelOutput?: boolean;
  /** The Philox stream of a stochastic step's noise when none is given. */
  seed?: number;
  offset?: number;
}

/** diffusers' SchedulerOutput. */
export interface SchedulerStepOutput {
  prevSample: Tensor;
  predOriginalSample: Tensor;
}

export class Scheduler extends EngineModel<SchedulerConfig> {
  /** A scheduler/ folder (scheduler_config.json; no weights). */
  static async load(folder: string): Promise<Scheduler> {
    return new Scheduler(await loadNative('scheduler', folder));
  }

  async setTimesteps(numInferenceSteps: number, call: CallOptions = {}): Promise<Schedule> {
    const out = await this.runEngine('set_timesteps', {}, { num_inference_steps: numInferenceSteps }, call);
    return {
      timesteps: out.timesteps!,
      ...(out.sigmas ? { sigmas: out.sigmas } : {}),
      alphasCumprod: out.alphas_cumprod!,
      initNoiseSigma: out.init_noise_sigma!,
    };
  }

  /** The model input at `timestep` (Euler: sample / sqrt(sigma^2 + 1); others: sample). */
  async scaleModelInput(sample: Tensor, timestep: number, call: CallOptions = {}): Promise<Tensor> {
    return (await this.runEngine('scale_model_input', { sample }, { timestep }, call)).sample!;
  }

  async step(inputs: SchedulerStepInputs, options: SchedulerStepOptions): Promise<SchedulerStepOutput> {
    const { timestep, guidance, eta, useClippedModelOutput, seed, offset, ...call } = options;
    const attrs: Record<string, number | boolean> = { timestep };
    if (guidance !== undefined) attrs.guidance = guidance;
    if (eta !== undefined) attrs.eta = eta;
    if (useClippedModelOutput !== undefined) attrs.use_clipped_model_output = useClippedModelOutput;
    if (seed !== undefined) attrs.seed = seed;
    if (offset !== undefined) attrs.offset = offset;
    const out = await this.runEngine(
      'step',
      { sample: inputs.sample, model_output: inputs.modelOutput, noise: inputs.noise },
      attrs,
      call,
    );
    return { prevSample: out.prev_sample!, predOriginalSample: out.pred_original_sample! };
  }

  /** sqrt(a_t) x0 + sqrt(1 - a_t) noise per batch item (Euler: x0 + sigma_t noise). */
  async addNoise(
    inputs: { originalSamples: Tensor; noise: Tensor; timesteps: Tensor },
    call: CallOptions = {},
  ): Promise<Tensor> {
    const { originalSamples, noise, timesteps } = inputs;
    return (await this.runEngine('add_noise', { original_samples: originalSamples, noise, timesteps }, {}, call))
      .noisy!;
  }

  /** sqrt(a_t) noise - sqrt(1 - a_t) sample per batch item (DDPM, DDIM). */
  async getVelocity(
    inputs: { sample: Tensor; noise: Tensor; timesteps: Tensor },
    call: CallOptions = {},
  ): Promise<Tensor> {
    return (await this.runEngine('get_velocity', inputs, {}, call)).velocity!;
  }
}
