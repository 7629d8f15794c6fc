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

/** Parameters that share settings (torch's param groups): here, their own weight decay. */
export interface AdamWParamGroup {
  params: Tensor[];
  /** This group's weight decay (default: the optimizer's). */
  weightDecay?: number;
}

/**
 * What AdamW carries between steps (torch's optimizer state_dict): the step count and each
 * parameter's moments, in the order of `params`. The tensors are the optimizer's own (not copies).
 */
export interface AdamWState {
  step: number;
  expAvg: Tensor[];
  expAvgSq: Tensor[];
}

export class AdamW {
  readonly params: Tensor[];
  private expAvg: Tensor[];
  private expAvgSq: Tensor[];
  /** Each parameter's weight decay (its group's). */
  private readonly decay: number[];
  private stepCount = 0;
  private readonly opts: Required<AdamWOptions>;

  /** `params`: tensors (one group), or groups with their own weight decay (e.g. 0 for norms and biases). */
  constructor(params: Tensor[] | AdamWParamGroup[], opts: AdamWOptions) {
    checkLr(opts.lr, 'AdamW: lr');
    this.opts = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, ...opts };
    const groups: AdamWParamGroup[] =
      params.length > 0 && !(params[0] instanceof Tensor)
        ? (params as AdamWParamGroup[])
        : [{ params: params as Tensor[] }];
    this.params = [];
    this.decay = [];
    for (const g of groups) {
      const wd = g.weightDecay ?? this.opts.weightDecay;
      if (!(wd >= 0)) throw new VlvError('E_ARG', `AdamW: weight decay must be >= 0, got ${wd}`);
      for (const p of g.params) {
        if (!(p instanceof Tensor)) throw new VlvError('E_ARG', 'AdamW: params must be tensors or groups of tensors');
        if (!p.requiresGrad) throw new VlvError('E_ARG', `AdamW: every parameter must require grad (${p.toString()})`);
        this.params.push(p);
        this.decay.push(wd);
      }
    }
    this.expAvg = this.params.map((p) => Tensor.zeros(p.shape));
    this.expAvgSq = this.params.map((p) => Tensor.zeros(p.shape));
  }

  get step(): number {
    return this.stepCount;
  }

  /** The learning rate of the next step (a schedule sets it before each step). */
  get lr(): number {
    return this.opts.lr;
  }
  set lr(value: number) {
    checkLr(value, 'AdamW: lr', true);
    this.opts.lr = value;
  }

  /** The hyper-parameters in force (lr as last set). */
  get options(): Readonly<Required<AdamWOptions>> {
    return { ...this.opts };
  }

  /** Each parameter's weight decay, in the order of `params`. */
  get weightDecays(): readonly number[] {
    return [...this.decay];
  }

  /** One update of every parameter that has a gradient. */
  async stepOnce(): Promise<void> {
    this.stepCount++;
    const { lr, beta1, beta2, eps } = this.opts;
    await noGrad(() =>
      Promise.all(
        this.params.map(async (p, i) => {
          const g = p.grad;
          if (!g) return;
          await this.onDevice(i, p.device);
          await runOp('adamw', [p, g, this.expAvg[i]!, this.expAvgSq[i]!], {
            lr,
            beta1,
            beta2,
            eps,
            weightDecay: this.decay[i]!,
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

  /** The moments of parameter i on its device (made on the CPU, or loaded there, they move once). */
  private async onDevice(i: number, device: 'cpu' | 'cuda'): Promise<void> {
    for (const list of [this.expAvg, this.expAvgSq]) {
      const t = list[i]!;
      if (t.device === device) continue;
      list[i] = await t.to(device);
      t.dispose();
    }
  }

  /** The step count and the moments (the optimizer's own tensors: save them, do not dispose them). */
  state(): AdamWState {
    return { step: this.stepCount, expAvg: [...this.expAvg], expAvgSq: [...this.expAvgSq] };
  }

  /**
   * Continues from a saved state: the step count, and moments that the optimizer takes over (it
   * updates them in place and disposes them with itself). Shapes must match `params`; f32 only.
   */
  loadState(state: AdamWState): void {
    const { step, expAvg, expAvgSq } = state;
    if (!Number.isSafeInteger(step) || step < 0)
      throw new VlvError('E_ARG', `AdamW.loadState: step must be a non-negative integer, got ${step}`);
    for (const [label, list] of [
      ['expAvg', expAvg],
      ['expAvgSq', expAvgSq],
    ] as const) {
      if (list.length !== this.params.length)
        throw new VlvError(
          'E_ARG',
          `AdamW.loadState: ${list.length} ${label} tensors for ${this.params.length} params`,
        );
      list.forEach((t, i) => {
        const p = this.params[i]!;
        if (t.dtype !== 'f32') throw new VlvError('E_DTYPE', `AdamW.loadState: ${label}[${i}] is ${t.dtype}, not f32`);
        if (t.shape.join(',') !== p.shape.join(','))
          throw new VlvError(
            'E_SHAPE',
            `AdamW.loadState: ${label}[${i}] is [${t.shape.join(', ')}], its parameter [${p.shape.join(', ')}]`,
          );
      });
    }
    for (const t of [...this.expAvg, ...this.expAvgSq]) if (!expAvg.includes(t) && !expAvgSq.includes(t)) t.dispose();
    this.expAvg = [...expAvg];
    this.expAvgSq = [...expAvgSq];
    this.stepCount = step;
  }

  dispose(): void {
    for (const t of [...this.expAvg, ...this.expAvgSq]) t.dispose();
  }
}

function checkLr(lr: number, what: string, zeroOk = false): void {
  if (!(zeroOk ? lr >= 0 : lr > 0) || !Number.isFinite(lr))
    throw new VlvError('E_ARG', `${what} must be ${zeroOk ? 'non-negative' : 'positive'}, got ${lr}`);
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
