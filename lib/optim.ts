/**
 * Optimisers over the engine's in-place ops: AdamW exactly as torch.optim.AdamW, and
 * global-norm gradient clipping as torch.nn.utils.clip_grad_norm_.
 */
import { runOp } from './ops.js';
import { noGrad } from './grad-mode.js';
import { Tensor } from './tensor.js';
import { VlvError } from './errors.js';

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export class AdamW {
  readonly params: Tensor[];
  private readonly expAvg: Tensor[];
  private readonly expAvgSq: Tensor[];
  private stepCount = 0;
  private readonly opts: Required<AdamWOptions>;

  constructor(params: Tensor[], opts: AdamWOptions) {
    if (!(opts.lr > 0)) throw new VlvError('E_ARG', `AdamW: lr must be positive, got ${opts.lr}`);
    for (const p of params)
      if (!p.requiresGrad) throw new VlvError('E_ARG', `AdamW: every parameter must require grad (${p.toString()})`);
    this.params = params;
    this.expAvg = params.map((p) => Tensor.zeros(p.shape));
    this.expAvgSq = params.map((p) => Tensor.zeros(p.shape));
    this.opts = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, ...opts };
  }

  get step(): number {
    return this.stepCount;
  }

  /** One update of every parameter that has a gradient. */
  async stepOnce(): Promise<void> {
    this.stepCount++;
    const { lr, beta1, beta2, eps, weightDecay } = this.opts;
    await noGrad(() =>
      Promise.all(
        this.params.map(async (p, i) => {
          const g = p.grad;
          if (!g) return;
          await runOp('adamw', [p, g, this.expAvg[i]!, this.expAvgSq[i]!], {
            lr,
            beta1,
            beta2,
            eps,
            weightDecay,
            step: this.stepCount,
          });
          g.dispose();
        }),
      ),
    );
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  dispose(): void {
    for (const t of [...this.expAvg, ...this.expAvgSq]) t.dispose();
  }
}

/** Scales the gradients of `params` in place so their global L2 norm is at most maxNorm; returns the norm before. */
export async function clipGradNorm(params: Tensor[], maxNorm: number): Promise<number> {
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
  if (grads.length === 0) return 0;
  const [norm] = await noGrad(() => runOp('clip_grad_norm', grads, { maxNorm }));
  const value = (norm!.toArray() as Float32Array)[0]!;
  norm!.dispose();
  return value;
}
