// group_norm / layer_norm / rms_norm / softmax beyond the fixtures: argument errors,
// thread-count independence (row splits, parameter-gradient partial sums) and extreme inputs.
import test from 'ava';
import { ops, Tensor } from '../../lib/index.js';
import { forwardBackward, randArray, randTensor } from '../helpers/op-runs.js';
import { atThreadCounts } from '../helpers/thread-counts.js';

// The thread count is process-wide: the test runs serially so that nothing else changes it
// between the two passes, and puts the count back after.
test.serial('norms do not depend on the thread count', async (t) => {
  const n = (s: number[]) => s.reduce((a, d) => a * d, 1);
  const cases: { name: string; run: (xs: (Tensor | null)[]) => Promise<Tensor>; shapes: number[][] }[] = [
    {
      name: 'group_norm silu',
      run: ([x, w, b]) => ops.groupNorm(x!, w ?? null, b ?? null, { groups: 32, eps: 1e-6, silu: true }),
      shapes: [[2, 64, 9, 11], [64], [64]],
    },
    {
      name: 'group_norm 3d',
      run: ([x, w, b]) => ops.groupNorm(x!, w ?? null, b ?? null, { groups: 4 }),
      shapes: [[3, 8, 37], [8], [8]],
    },
    { name: 'layer_norm', run: ([x, w, b]) => ops.layerNorm(x!, w, b), shapes: [[5, 37, 77], [77], [77]] },
    { name: 'rms_norm', run: ([x, w]) => ops.rmsNorm(x!, w), shapes: [[5, 37, 65], [65]] },
    { name: 'softmax', run: ([x]) => ops.softmax(x!), shapes: [[7, 33, 129]] },
  ];
  const runAll = () =>
    Promise.all(
      cases.map((c) =>
        forwardBackward(
          c.run,
          c.shapes.map((s, i) => randArray(n(s), 20 + i, i ? 1 : 3)),
          c.shapes,
        ),
      ),
    );
  const runs = await atThreadCounts([1, 2], runAll);
  const [one, two] = [runs[0]!, runs[1]!];
  cases.forEach((c, k) => {
    t.deepEqual(two[k]!.out, one[k]!.out, `${c.name}: output`);
    two[k]!.grads.forEach((g, i) => t.deepEqual(g, one[k]!.grads[i], `${c.name}: grad ${i}`));
  });
});

test('group_norm rejects bad shapes and attributes', async (t) => {
  const x = randTensor([2, 6, 5, 7], 1);
  await t.throwsAsync(ops.groupNorm(x, null, null, { groups: 4 }), {
    code: 'E_SHAPE',
    message: /group_norm: groups=4 must divide the channels of x f32\[2,6,5,7\]/,
  });
  await t.throwsAsync(ops.groupNorm(randTensor([6], 1), null, null, { groups: 2 }), {
    code: 'E_SHAPE',
    message: /group_norm: 'x' must be \[N, C, \*\]/,
  });
  await t.throwsAsync(ops.groupNorm(x, randTensor([5], 2), null, { groups: 2 }), {
    code: 'E_SHAPE',
    message: /group_norm: 'weight' f32\[5\] must be \[6\]/,
  });
  await t.throwsAsync(ops.groupNorm(x, null, randTensor([6, 1], 2), { groups: 2 }), {
    code: 'E_SHAPE',
    message: /group_norm: 'bias' f32\[6,1\] must be \[6\]/,
  });
  await t.throwsAsync(ops.groupNorm(x, null, null, { groups: 0 }), {
    code: 'E_ARG',
    message: /group_norm: attribute 'groups' must be >= 1/,
  });
  const { runOp } = await import('../../lib/ops.js');
  await t.throwsAsync(runOp('group_norm', [x], {}), {
    code: 'E_ARG',
    message: /group_norm: attribute 'groups' is required/,
  });
  const xi = Tensor.from(new Int32Array(12), [2, 6], 'i32');
  await t.throwsAsync(ops.groupNorm(xi, null, null, { groups: 2 }), {
    code: 'E_DTYPE',
    message: /group_norm: 'x' must be f32/,
  });
});

test('layer_norm, rms_norm and softmax reject bad shapes', async (t) => {
  const x = randTensor([3, 33], 1);
  await t.throwsAsync(ops.layerNorm(x, randTensor([32], 2)), {
    code: 'E_SHAPE',
    message: /layer_norm: 'weight' f32\[32\] must be \[33\]/,
  });
  await t.throwsAsync(ops.layerNorm(x, null, randTensor([3, 33], 2)), {
    code: 'E_SHAPE',
    message: /layer_norm: 'bias' f32\[3,33\] must be \[33\]/,
  });
  await t.throwsAsync(ops.rmsNorm(x, randTensor([3], 2)), {
    code: 'E_SHAPE',
    message: /rms_norm: 'weight' f32\[3\] must be \[33\]/,
  });
  await t.throwsAsync(ops.layerNorm(Tensor.scalar(1)), {
    code: 'E_SHAPE',
    message: /layer_norm: 'x' must have at least 1 dimension/,
  });
  await t.throwsAsync(ops.softmax(Tensor.from(new Int32Array(4), [4], 'i32')), {
    code: 'E_DTYPE',
    message: /softmax: 'x' must be f32/,
  });
});

test('softmax stays finite for huge logits and normalises rows', async (t) => {
  const a = randArray(4 * 50, 3, 1e4);
  const y = (await ops.softmax(Tensor.from(a, [4, 50]))).toFloat32();
  t.true(y.every(Number.isFinite));
  for (let r = 0; r < 4; r++) {
    const s = y.subarray(r * 50, (r + 1) * 50).reduce((p, v) => p + v, 0);
    t.true(Math.abs(s - 1) < 1e-6, `row ${r} sums to ${s}`);
  }
});

test('layer_norm and group_norm of a constant row give the bias (variance 0, eps only)', async (t) => {
  const x = Tensor.from(new Float32Array(2 * 16).fill(1e6), [2, 16]);
  const b = randTensor([16], 4);
  const y = (await ops.layerNorm(x, null, b)).toFloat32();
  t.deepEqual(Array.from(y), Array.from(b.toFloat32()).concat(Array.from(b.toFloat32())));
  const xg = Tensor.from(new Float32Array(2 * 4 * 3).fill(-7), [2, 4, 3]);
  const yg = (await ops.groupNorm(xg, null, null, { groups: 2 })).toFloat32();
  t.true(yg.every((v) => v === 0));
});

// The fused SiLU's exp (vectorised on AVX-512) over a wide range of pre-activations, against
// a float64 reference written out here.
test('group_norm+silu matches a float64 reference for pre-activations in [-100, 100]', async (t) => {
  const [C, S] = [8, 257];
  const x = randArray(C * S, 31, 2);
  const w = Float32Array.from({ length: C }, (_, c) => 1 + c * 5); // up to 36 std
  const b = Float32Array.from({ length: C }, (_, c) => (c % 2 ? 1 : -1) * c * 9); // up to +-63
  const y = (
    await ops.groupNorm(Tensor.from(x, [1, C, S]), Tensor.from(w, [C]), Tensor.from(b, [C]), { groups: 2, silu: true })
  ).toFloat32();
  const ref = new Float64Array(C * S);
  const len = (C / 2) * S;
  for (let g = 0; g < 2; g++) {
    const seg = Array.from(x.subarray(g * len, (g + 1) * len));
    const mean = seg.reduce((p, v) => p + v, 0) / len;
    const rstd = 1 / Math.sqrt(seg.reduce((p, v) => p + (v - mean) ** 2, 0) / len + 1e-5);
    for (let i = 0; i < len; i++) {
      const c = g * (C / 2) + Math.floor(i / S);
      const a = (seg[i]! - mean) * rstd * w[c]! + b[c]!;
      ref[g * len + i] = a / (1 + Math.exp(-a));
    }
  }
  let worst = 0;
  for (let i = 0; i < ref.length; i++)
    worst = Math.max(worst, Math.abs(y[i]! - ref[i]!) / Math.max(1, Math.abs(ref[i]!)));
  t.log(`worst error ${worst.toExponential(2)}`);
  t.true(worst < 5e-6, `worst error ${worst}`);
});
