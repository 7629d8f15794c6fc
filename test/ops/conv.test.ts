// conv2d / upsample_nearest2x beyond the fixtures: argument errors, thread-count
// independence, and the row-chunked im2col path (a large image) checked against bands.
import test from 'ava';
import { backward, noGrad, ops, Tensor } from '../../lib/index.js';
import { diff } from '../helpers/compare.js';
import { forwardBackward, randArray, randTensor } from '../helpers/op-runs.js';
import { atThreadCounts } from '../helpers/thread-counts.js';

const conv = (xs: number[], ws: number[], opts: Parameters<typeof ops.conv2d>[3] = {}, bs?: number[]) =>
  ops.conv2d(randTensor(xs, 1), randTensor(ws, 2), bs ? randTensor(bs, 3) : null, opts);

test('conv2d rejects bad shapes with E_SHAPE', async (t) => {
  await t.throwsAsync(conv([3, 5, 5], [4, 3, 3, 3]), {
    code: 'E_SHAPE',
    message: /conv2d: 'x' must have 4 dimensions/,
  });
  await t.throwsAsync(conv([1, 3, 5, 5], [4, 3, 3]), {
    code: 'E_SHAPE',
    message: /conv2d: 'weight' must have 4 dimensions/,
  });
  await t.throwsAsync(conv([1, 3, 5, 5], [4, 2, 3, 3]), {
    code: 'E_SHAPE',
    message: /conv2d: weight f32\[4,2,3,3\] must be \[Cout, Cin\/groups=3/,
  });
  await t.throwsAsync(conv([1, 6, 5, 5], [4, 1, 3, 3], { groups: 4 }), {
    code: 'E_SHAPE',
    message: /conv2d: groups=4 must divide/,
  });
  await t.throwsAsync(conv([1, 6, 5, 5], [3, 3, 3, 3], { groups: 2 }), {
    code: 'E_SHAPE',
    message: /groups=2 must divide .* output channels/,
  });
  await t.throwsAsync(conv([1, 3, 5, 5], [4, 3, 3, 3], {}, [3]), {
    code: 'E_SHAPE',
    message: /conv2d: bias f32\[3\] must be \[4\]/,
  });
  await t.throwsAsync(conv([1, 3, 2, 5], [4, 3, 3, 3]), {
    code: 'E_SHAPE',
    message: /conv2d: kernel 3x3 is larger than the padded input 2x5/,
  });
});

test('conv2d rejects bad attributes with E_ARG and non-f32 with E_DTYPE', async (t) => {
  await t.throwsAsync(conv([1, 3, 5, 5], [4, 3, 3, 3], { stride: 0 }), {
    code: 'E_ARG',
    message: /conv2d: attribute 'stride' must be >= 1/,
  });
  await t.throwsAsync(conv([1, 3, 5, 5], [4, 3, 3, 3], { padding: -1 }), {
    code: 'E_ARG',
    message: /'padding' must be >= 0/,
  });
  await t.throwsAsync(conv([1, 3, 5, 5], [4, 3, 3, 3], { stride: [1, 2, 3] as unknown as [number, number] }), {
    code: 'E_ARG',
    message: /conv2d: attribute 'stride' must be an int or \[h, w\], got 3 values/,
  });
  await t.throwsAsync(conv([1, 3, 5, 5], [4, 3, 3, 3], { groups: 0 }), {
    code: 'E_ARG',
    message: /'groups' must be >= 1/,
  });
  const xi = Tensor.from(new Int32Array(75), [1, 3, 5, 5], 'i32');
  await t.throwsAsync(ops.conv2d(xi, randTensor([4, 3, 3, 3], 2)), {
    code: 'E_DTYPE',
    message: /conv2d: 'x' must be f32/,
  });
  await t.throwsAsync(ops.upsampleNearest2x(randTensor([3, 4, 5], 1)), {
    code: 'E_SHAPE',
    message: /upsample_nearest2x: 'x' must have 4 dimensions/,
  });
});

// The thread count is process-wide: the test runs serially so that nothing else changes it
// between the two passes, and puts the count back after.
test.serial('conv2d results do not depend on the thread count', async (t) => {
  const cases: { name: string; x: number[]; w: number[]; opts: Parameters<typeof ops.conv2d>[3] }[] = [
    { name: '3x3', x: [2, 8, 21, 19], w: [16, 8, 3, 3], opts: { padding: 1 } },
    { name: '3x3 stride 2', x: [1, 8, 21, 19], w: [8, 8, 3, 3], opts: { padding: 1, stride: 2 } },
    { name: '1x1', x: [2, 16, 9, 13], w: [24, 16, 1, 1], opts: {} },
    { name: 'groups 4', x: [2, 8, 11, 9], w: [12, 2, 3, 3], opts: { padding: 1, groups: 4 } },
    { name: 'depthwise', x: [2, 12, 17, 15], w: [12, 1, 3, 3], opts: { padding: 1, groups: 12 } },
  ];
  const runAll = () =>
    Promise.all(
      cases.map((c) =>
        forwardBackward(
          ([x, w, b]) => ops.conv2d(x!, w!, b, c.opts),
          [
            randArray(
              c.x.reduce((a, d) => a * d),
              5,
            ),
            randArray(
              c.w.reduce((a, d) => a * d),
              6,
              0.3,
            ),
            randArray(c.w[0]!, 7),
          ],
          [c.x, c.w, [c.w[0]!]],
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

// A 16-channel 40x128 image runs im2col in chunks of 14 output rows (kColTarget in conv.cc);
// bands of 5 output rows (one chunk each, boundaries elsewhere) over a zero-padded copy give
// an independent reference for the output and both gradients.
test('conv2d chunked im2col matches a banded computation', async (t) => {
  const [C, H, W, Co, band] = [16, 40, 128, 8, 5];
  const x = randArray(C * H * W, 11);
  const w = randArray(Co * C * 9, 12, 1 / 12);
  const big = await forwardBackward(
    ([xt, wt]) => ops.conv2d(xt!, wt!, null, { padding: 1 }),
    [x, w],
    [
      [1, C, H, W],
      [Co, C, 3, 3],
    ],
    13,
  );
  const gy = randTensor([1, Co, H, W], 13).toFloat32(); // the same upstream gradient forwardBackward used
  const xpad = new Float32Array(C * (H + 2) * W);
  for (let c = 0; c < C; c++) xpad.set(x.subarray(c * H * W, (c + 1) * H * W), (c * (H + 2) + 1) * W);
  const out = new Float32Array(Co * H * W);
  const dxpad = new Float32Array(C * (H + 2) * W);
  const dw = new Float32Array(Co * C * 9);
  for (let r0 = 0; r0 < H; r0 += band) {
    const xb = new Float32Array(C * (band + 2) * W);
    for (let c = 0; c < C; c++)
      xb.set(xpad.subarray((c * (H + 2) + r0) * W, (c * (H + 2) + r0 + band + 2) * W), c * (band + 2) * W);
    const xt = Tensor.from(xb, [1, C, band + 2, W]);
    const wt = Tensor.from(w, [Co, C, 3, 3]);
    xt.requiresGrad = true;
    wt.requiresGrad = true;
    const y = await ops.conv2d(xt, wt, null, { padding: [0, 1] });
    const yb = y.toFloat32();
    const gb = new Float32Array(Co * band * W);
    for (let o = 0; o < Co; o++) {
      out.set(yb.subarray(o * band * W, (o + 1) * band * W), (o * H + r0) * W);
      gb.set(gy.subarray((o * H + r0) * W, (o * H + r0 + band) * W), o * band * W);
    }
    await backward([y], [Tensor.from(gb, [1, Co, band, W])]);
    const dxb = xt.grad!.toFloat32();
    for (let c = 0; c < C; c++)
      for (let i = 0; i < (band + 2) * W; i++) dxpad[(c * (H + 2) + r0) * W + i]! += dxb[c * (band + 2) * W + i]!;
    wt.grad!.toFloat32().forEach((v, i) => (dw[i]! += v));
    for (const tt of [xt, wt, y]) tt.dispose();
  }
  const dx = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++) dx.set(dxpad.subarray((c * (H + 2) + 1) * W, (c * (H + 2) + 1 + H) * W), c * H * W);
  t.true(diff(big.out, out).rel < 1e-6, `out rel ${diff(big.out, out).rel}`);
  t.true(diff(big.grads[0]!, dx).rel < 1e-6, `dx rel ${diff(big.grads[0]!, dx).rel}`);
  t.true(diff(big.grads[1]!, dw).rel < 1e-5, `dw rel ${diff(big.grads[1]!, dw).rel}`);
});

test('group_norm_conv2d is group_norm then conv2d, and refuses to record a gradient', async (t) => {
  const x = randTensor([2, 6, 7, 9], 1),
    gw = randTensor([6], 2),
    gb = randTensor([6], 3);
  const w = randTensor([5, 6, 3, 3], 4),
    b = randTensor([5], 5);
  const fused = await ops.groupNormConv2d(x, { weight: gw, bias: gb, groups: 3, silu: true }, w, b, {
    padding: 1,
    stride: 2,
  });
  const h = await ops.groupNorm(x, gw, gb, { groups: 3, silu: true });
  const ref = await ops.conv2d(h, w, b, { padding: 1, stride: 2 });
  t.is(diff(fused.toFloat32(), ref.toFloat32()).rel, 0);
  w.requiresGrad = true;
  await t.throwsAsync(ops.groupNormConv2d(x, { weight: gw, bias: gb, groups: 3, silu: true }, w, b), {
    code: 'E_ARG',
    message: /group_norm_conv2d: has no backward; input 3 requires grad/,
  });
  const underNoGrad = await noGrad(() =>
    ops.groupNormConv2d(x, { weight: gw, bias: gb, groups: 3, silu: true }, w, b, { padding: 1, stride: 2 }),
  );
  t.false(underNoGrad.requiresGrad);
  t.is(diff(underNoGrad.toFloat32(), ref.toFloat32()).rel, 0);
  await t.throwsAsync(ops.groupNormConv2d(x, { weight: gw, groups: 4 }, w.detach()), {
    code: 'E_ARG',
    message: /norm_groups 4 must divide the channels 6/,
  });
  await t.throwsAsync(ops.groupNormConv2d(x, { weight: randTensor([5], 2), groups: 3 }, w.detach()), {
    code: 'E_SHAPE',
    message: /norm_weight f32\[5\] must be \[6\]/,
  });
});
