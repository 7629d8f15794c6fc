/**
 * Exponential moving average of the trainable weights (diffusers' EMAModel without warmup):
 * after each optimizer step, ema -= (1 - decay) * (ema - weight). The averages are the run's
 * own tensors (f32), saved in checkpoints as ema.safetensors under the official names.
 */
import { noGrad } from '../grad-mode.js';
import { scale, sub } from '../ops.js';
import { Tensor } from '../tensor.js';
import type { TrainableParam } from './params.js';

export class Ema {
  private constructor(
    readonly decay: number,
    private readonly params: TrainableParam[],
    private averages: Tensor[],
  ) {}

  /** Starts from the current weights, or from saved averages (by canonical name). */
  static create(decay: number, params: TrainableParam[], saved?: Record<string, Tensor>): Ema {
    const averages = params.map((p) => {
      const from = saved?.[p.name] ?? p.tensor;
      return Tensor.from(from.toFloat32(), from.shape);
    });
    return new Ema(decay, params, averages);
  }

  async update(): Promise<void> {
    const k = 1 - this.decay;
    await noGrad(async () => {
      for (let i = 0; i < this.params.length; i++) {
        const p = this.params[i]!.tensor;
        let a = this.averages[i]!;
        if (a.device !== p.device) {
          const moved = await a.to(p.device);
          a.dispose();
          a = moved;
        }
        const diff = await sub(a, p);
        const step = await scale(diff, k);
        const next = await sub(a, step);
        diff.dispose();
        step.dispose();
        a.dispose();
        this.averages[i] = next;
      }
    });
  }

  /** The averages under every official name (tied tensors under each of theirs). */
  named(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.params.forEach((p, i) => {
      for (const n of p.names) out[n] = this.averages[i]!;
    });
    return out;
  }

  dispose(): void {
    for (const a of this.averages) a.dispose();
  }
}
