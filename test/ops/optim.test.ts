// adamw / clip_grad_norm: in-place semantics, several steps against a float64 transcription of
// torch.optim.AdamW, thread-count independence of the norm, errors (optim/* fixtures check
// single steps against torch itself).
import test, { type ExecutionContext } from 'ava';
import { info, ops, setNumThreads, Tensor, type VlvErrorCode } from '../../lib/index.js';
import { expectError } from '../helpers/expect-error.js';

const code = (p: Promise<unknown>, c: VlvErrorCode, re: RegExp, t: ExecutionContext) => expectError(t, p, c, re);

const adamw = (p: Tensor, g: Tensor, m: Tensor, v: Tensor, attrs: Record<string, number>) =>
  ops.runOp('adamw', [p, g, m, v], attrs);

test('adamw: five steps in place match torch AdamW (float64 transcription)', async (t) => {
  const n = 1001;
  const p0 = Array.from({ length: n }, (_, i) => Math.sin(i));
  const p = Tensor.from(p0),
    m = Tensor.zeros([n]),
    v = Tensor.zeros([n]);
  const ref = { p: Float64Array.from(Float32Array.from(p0)), m: new Float64Array(n), v: new Float64Array(n) };
  const [lr, b1, b2, eps, wd] = [3e-3, 0.9, 0.98, 1e-6, 0.05];
  for (let step = 1; step <= 5; step++) {
    const gv = Float32Array.from({ length: n }, (_, i) => Math.cos(i * step) * 0.1);
    const out = await adamw(p, Tensor.from(gv), m, v, { lr, beta1: b1, beta2: b2, eps, weightDecay: wd, step });
    t.is(out.length, 0, 'adamw returns nothing');
    const bc1 = 1 - b1 ** step,
      bc2 = 1 - b2 ** step;
    for (let i = 0; i < n; i++) {
      ref.p[i]! *= 1 - lr * wd;
      ref.m[i] = b1 * ref.m[i]! + (1 - b1) * gv[i]!;
      ref.v[i] = b2 * ref.v[i]! + (1 - b2) * gv[i]! * gv[i]!;
      ref.p[i]! -= ((lr / bc1) * ref.m[i]!) / (Math.sqrt(ref.v[i]!) / Math.sqrt(bc2) + eps);
    }
  }
  const got = p.toFloat32();
  let worst = 0;
  got.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - ref.p[i]!))));
  t.true(worst < 1e-6, `max abs error ${worst}`);
  const gm = m.toFloat32();
  gm.forEach((x, i) => t.true(Math.abs(x - ref.m[i]!) < 1e-7 + 1e-5 * Math.abs(ref.m[i]!)));
});

test('adamw: errors', async (t) => {
  const z = () => Tensor.zeros([3]);
  const a = { lr: 1e-3, step: 1 };
  await code(
    adamw(z(), Tensor.zeros([4]), z(), z(), a),
    'E_SHAPE',
    /adamw: param f32\[3\], grad f32\[4\].* must have one shape/,
    t,
  );
  await code(adamw(z(), z(), Tensor.zeros([3], 'bf16'), z(), a), 'E_DTYPE', /adamw: 'exp_avg' must be f32/, t);
  await code(adamw(z(), z(), z(), z(), { lr: 1e-3, step: 0 }), 'E_ARG', /adamw: attribute 'step' must be >= 1/, t);
  await code(adamw(z(), z(), z(), z(), { step: 1 }), 'E_ARG', /adamw: attribute 'lr' is required/, t);
  await code(
    adamw(z(), z(), z(), z(), { lr: 1e-3, step: 1, beta2: 1 }),
    'E_ARG',
    /beta1 and beta2 must lie in \[0, 1\)/,
    t,
  );
  await code(ops.runOp('adamw', [z(), z(), z()], a), 'E_ARG', /adamw: argument 'exp_avg_sq' is required/, t);
});

test.serial('clip_grad_norm: the norm and the clipped grads do not depend on the thread count', async (t) => {
  const before = info().threads;
  const data = Float32Array.from({ length: 300_007 }, (_, i) => Math.sin(i * 0.01) * 1e-2);
  const runs: { norm: number; g: Float32Array }[] = [];
  try {
    for (const n of [1, 3]) {
      setNumThreads(n);
      const g1 = Tensor.from(data),
        g2 = Tensor.from(data.subarray(0, 77));
      const [norm] = await ops.runOp('clip_grad_norm', [g1, null, g2], { maxNorm: 0.25 });
      t.deepEqual(norm!.shape, []);
      runs.push({ norm: norm!.toFloat32()[0]!, g: g1.toFloat32() });
    }
  } finally {
    setNumThreads(before);
  }
  t.is(runs[0]!.norm, runs[1]!.norm);
  t.deepEqual(runs[0]!.g, runs[1]!.g);
  let s = 0;
  for (const x of data) s += x * x;
  for (const x of data.subarray(0, 77)) s += x * x;
  t.true(Math.abs(runs[0]!.norm - Math.sqrt(s)) < 1e-6 * Math.sqrt(s));
  const coef = 0.25 / (Math.sqrt(s) + 1e-6);
  t.true(Math.abs(runs[0]!.g[1234]! - data[1234]! * coef) < 1e-9);
});

test('clip_grad_norm: no grads gives norm 0; errors', async (t) => {
  const [norm] = await ops.runOp('clip_grad_norm', [], { maxNorm: 1 });
  t.deepEqual(Array.from(norm!.toFloat32()), [0]);
  await code(
    ops.runOp('clip_grad_norm', [Tensor.zeros([2])], {}),
    'E_ARG',
    /clip_grad_norm: attribute 'max_norm' is required/,
    t,
  );
  await code(
    ops.runOp('clip_grad_norm', [Tensor.zeros([2]), Tensor.zeros([2], 'i32')], { maxNorm: 1 }),
    'E_DTYPE',
    /clip_grad_norm: grad 1 must be f32, got i32\[2\]/,
    t,
  );
  await code(ops.runOp('clip_grad_norm', [Tensor.zeros([2])], { maxNorm: -1 }), 'E_ARG', /'max_norm' must be >= 0/, t);
});

// ---------------------------------------------------------------- the AdamW class (lib/optim.ts)

/** A quadratic toy problem: loss = sum((w - target)^2) on each parameter, gradients by hand. */
async function setGrads(params: Tensor[]) {
  const { backward } = await import('../../lib/index.js');
  for (const p of params) {
    const target = Tensor.from(
      Float32Array.from({ length: p.numel }, (_, i) => Math.cos(i)),
      p.shape,
    );
    const d = await ops.sub(p, target);
    await backward(await ops.sum(await ops.mul(d, d)));
  }
}
const fresh = () => [
  Tensor.from(
    Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)),
    [3, 4],
  ),
  Tensor.from(
    Float32Array.from({ length: 5 }, (_, i) => i / 5),
    [5],
  ),
];
const trainable = (ps: Tensor[]) => {
  for (const p of ps) p.requiresGrad = true;
  return ps;
};

test('AdamW: state() / loadState() continue a run exactly as if it had not stopped; lr is settable per step', async (t) => {
  const { AdamW } = await import('../../lib/optim.js');
  const lrs = [1e-2, 5e-3, 0, 2e-2, 1e-3, 7e-3];
  const a = trainable(fresh());
  const optA = new AdamW(a, { lr: 1e-2, beta2: 0.99 });
  for (const lr of lrs) {
    optA.lr = lr;
    await setGrads(a);
    await optA.stepOnce();
    optA.zeroGrad();
  }
  // The same run stopped after 3 steps: weights and state copied out, a new optimizer on new tensors.
  const b = trainable(fresh());
  const optB = new AdamW(b, { lr: 1e-2, beta2: 0.99 });
  for (const lr of lrs.slice(0, 3)) {
    optB.lr = lr;
    await setGrads(b);
    await optB.stepOnce();
    optB.zeroGrad();
  }
  const st = optB.state();
  t.is(st.step, 3);
  const copy = (x: Tensor) => Tensor.from(x.toFloat32(), x.shape);
  const c = trainable(b.map(copy));
  const optC = new AdamW(c, { lr: 1e-2, beta2: 0.99 });
  optC.loadState({ step: st.step, expAvg: st.expAvg.map(copy), expAvgSq: st.expAvgSq.map(copy) });
  t.is(optC.step, 3);
  for (const lr of lrs.slice(3)) {
    optC.lr = lr;
    await setGrads(c);
    await optC.stepOnce();
    optC.zeroGrad();
  }
  a.forEach((p, i) => t.deepEqual(c[i]!.toFloat32(), p.toFloat32(), `param ${i} bit-identical`));
  optA.state().expAvgSq.forEach((m, i) => t.deepEqual(optC.state().expAvgSq[i]!.toFloat32(), m.toFloat32()));
  t.throws(() => (optC.lr = -1), { message: /lr must be non-negative/ });
  t.throws(() => optC.loadState({ step: 1, expAvg: [], expAvgSq: [] }), { message: /0 expAvg tensors for 2 params/ });
  t.throws(() => optC.loadState({ step: 1, expAvg: [Tensor.zeros([5]), Tensor.zeros([5])], expAvgSq: st.expAvgSq }), {
    message: /expAvg\[0\] is \[5\], its parameter \[3, 4\]/,
  });
});

test('AdamW: parameter groups with their own weight decay (none for norms and biases)', async (t) => {
  const { AdamW } = await import('../../lib/optim.js');
  const [w, bias] = trainable(fresh());
  const opt = new AdamW([{ params: [w!] }, { params: [bias!], weightDecay: 0 }], { lr: 0.1, weightDecay: 0.5 });
  t.deepEqual(opt.weightDecays, [0.5, 0]);
  t.deepEqual(opt.params, [w, bias]);
  // Zero gradients: only the decay moves a parameter (p *= 1 - lr * wd).
  const before = [w!.toFloat32(), bias!.toFloat32()];
  for (const p of [w!, bias!]) {
    const { backward } = await import('../../lib/index.js');
    await backward(await ops.scale(await ops.sum(p), 0));
  }
  await opt.stepOnce();
  t.deepEqual(bias!.toFloat32(), before[1], 'no decay on the bias group');
  const f = Math.fround(1 - 0.1 * 0.5);
  w!.toFloat32().forEach((x, i) => t.is(x, Math.fround(before[0]![i]! * f)));
});
