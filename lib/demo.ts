/**
 * `vlv demo`: trains a two-layer MLP on a synthetic regression task with the engine's own
 * ops, autograd and AdamW, and prints the loss falling. Runs in seconds on any machine.
 */
import type { Tensor } from './tensor.js';
import * as ops from './ops.js';
import { backward, noGrad } from './autograd.js';
import { AdamW, clipGradNorm } from './optim.js';

export interface DemoResult {
  firstLoss: number;
  lastLoss: number;
  steps: number;
}

async function param(shape: number[], seed: number, scale: number): Promise<Tensor> {
  const r = await ops.randn(shape, seed);
  const p = await ops.scale(r, scale);
  r.dispose();
  p.requiresGrad = true;
  return p;
}

export async function runDemo(opts: { steps?: number; log?: (line: string) => void } = {}): Promise<DemoResult> {
  const steps = opts.steps ?? 200;
  const log = opts.log ?? (() => {});
  const nIn = 16,
    nHidden = 64,
    nOut = 4,
    batch = 128;
  // The world to learn: y = tanh-like map of x through a fixed random teacher MLP.
  const teacherW1 = await ops.randn([nHidden, nIn], 1);
  const teacherW2 = await ops.randn([nOut, nHidden], 2);
  const w1 = await param([nHidden, nIn], 3, 1 / Math.sqrt(nIn));
  const b1 = await param([nHidden], 4, 0);
  const w2 = await param([nOut, nHidden], 5, 1 / Math.sqrt(nHidden));
  const b2 = await param([nOut], 6, 0);
  const opt = new AdamW([w1, b1, w2, b2], { lr: 3e-3, weightDecay: 0 });
  let first = NaN;
  let last = NaN;
  for (let step = 0; step < steps; step++) {
    const x = await ops.randn([batch, nIn], 1000, step * batch * nIn);
    const y = await noGrad(async () => {
      const h = await ops.linear(x, teacherW1, null, 'gelu');
      return ops.scale(await ops.linear(h, teacherW2), 1 / Math.sqrt(nHidden));
    });
    const h = await ops.linear(x, w1, b1, 'gelu');
    const pred = await ops.linear(h, w2, b2);
    const loss = await ops.mseLoss(pred, y);
    await backward(loss);
    await clipGradNorm(opt.params, 1.0);
    await opt.stepOnce();
    opt.zeroGrad();
    const value = (loss.toArray() as Float32Array)[0]!;
    if (step === 0) first = value;
    last = value;
    if (step % Math.max(1, Math.floor(steps / 10)) === 0 || step === steps - 1)
      log(`step ${String(step).padStart(4)}  loss ${value.toFixed(5)}`);
    for (const t of [x, y, h, pred, loss]) t.dispose();
  }
  opt.dispose();
  return { firstLoss: first, lastLoss: last, steps };
}
