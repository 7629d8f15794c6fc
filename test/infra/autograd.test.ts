// The tape's mechanics: accumulation, shared inputs, noGrad, frozen tensors, errors,
// and a composite gradient against finite differences.
import test from 'ava';
import { Tensor, VlvError, backward, noGrad, ops } from '../../lib/index.js';

const arr = (t: Tensor) => Array.from(t.toArray() as Float32Array);

test('a tensor used twice gets the sum of both gradients; backward accumulates', async (t) => {
  const x = Tensor.from([1, 2, 3]);
  x.requiresGrad = true;
  const y = await ops.mul(x, x); // d/dx sum(x*x) = 2x
  const loss = await ops.sum(y);
  await backward(loss);
  t.deepEqual(arr(x.grad!), [2, 4, 6]);
  await backward(loss); // again: accumulates
  t.deepEqual(arr(x.grad!), [4, 8, 12]);
  x.zeroGrad();
  t.is(x.grad, null);
});

test('noGrad records nothing; frozen tensors get no gradient', async (t) => {
  const w = Tensor.from([1, 2]);
  w.requiresGrad = true;
  const frozen = Tensor.from([3, 4]); // requiresGrad false: a frozen parameter
  const y = await noGrad(() => ops.mul(w, frozen));
  t.false(y.requiresGrad);
  t.is((await t.throwsAsync(backward(await ops.sum(y)), { instanceOf: VlvError }))?.code, 'E_ARG');
  const z = await ops.sum(await ops.mul(w, frozen));
  await backward(z);
  t.deepEqual(arr(w.grad!), [3, 4]);
  t.is(frozen.grad, null);
});

test('requiresGrad cannot be set on an op output; non-scalar roots need a gradient', async (t) => {
  const x = Tensor.from([1, 2]);
  x.requiresGrad = true;
  const y = await ops.scale(x, 2);
  t.is(t.throws(() => (y.requiresGrad = false), { instanceOf: VlvError })?.code, 'E_ARG');
  t.is((await t.throwsAsync(backward(y), { instanceOf: VlvError }))?.code, 'E_SHAPE');
  await backward(y, Tensor.from([1, 10]));
  t.deepEqual(arr(x.grad!), [2, 20]);
});

test('a composite graph matches central finite differences (f64 on the JS side)', async (t) => {
  // loss = mean(silu(layer_norm(x @ w^T + b)) * x2)
  const n = 5,
    k = 7,
    m = 6;
  const xs = await ops.randn([n, k], 11);
  const w = await ops.randn([m, k], 12);
  const b = await ops.randn([m], 13);
  const x2 = await ops.randn([n, m], 14);
  const f = async (x: Tensor) => {
    const h = await ops.linear(x, w, b);
    const ln = await ops.layerNorm(h, null, null, 1e-5);
    return ops.mean(await ops.mul(await ops.silu(ln), x2));
  };
  const x = xs.detach();
  x.requiresGrad = true;
  const loss = await f(x);
  await backward(loss);
  const grad = arr(x.grad!);
  const base = Float32Array.from(arr(xs));
  const eps = 1e-2;
  let worst = 0;
  for (const i of [0, 3, 8, 17, 34]) {
    const plus = Float32Array.from(base);
    const minus = Float32Array.from(base);
    plus[i]! += eps;
    minus[i]! -= eps;
    const lp = arr(await noGrad(() => f(Tensor.from(plus, [n, k]))))[0]!;
    const lm = arr(await noGrad(() => f(Tensor.from(minus, [n, k]))))[0]!;
    const fd = (lp - lm) / (2 * eps);
    worst = Math.max(worst, Math.abs(fd - grad[i]!) / Math.max(1e-3, Math.abs(fd)));
  }
  t.true(worst < 2e-2, `worst relative difference ${worst}`);
});
