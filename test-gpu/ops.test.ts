/**
 * Every op on the GPU against the CPU path (attention, conv2d and scheduler_step: part 2): the committed op fixtures' inputs
 * (forward, backward, in-place updates; f32 <= 1e-5 relative L2), fresh random inputs at odd
 * sizes in f32 and bf16 (bf16 <= 1e-2 against the CPU on the same bf16-rounded values), the
 * Philox stream, and the error paths. Run by `npm run test:gpu` with VLV_CUDA_POISON=1, so
 * every allocation starts as NaN and an unwritten element fails its comparison.
 */
import test, { type ExecutionContext } from 'ava';
import { backward, cuda, info, Tensor, type VlvError } from '../lib/index.js';
import { runOp } from '../lib/ops.js';
import type { Options } from '../lib/options.js';
import { fixtureMeta, fixtureName, listFixtures } from '../test/helpers/op-fixtures.js';
import { readFixture, toTensor } from '../test/helpers/fixture-file.js';
import { diff, values } from '../test/helpers/compare.js';
import { BF16_TOL, compareDevices, F32_TOL, randomBool, randomF32, randomIds } from './helpers.js';

const NO_DISPATCH = new Set(['randn', 'rand']); // no tensor input: covered through cuda.random

if (!info().cuda.available) {
  test('CUDA is available', (t) => t.fail(`no usable GPU: ${info().cuda.reason}`));
} else {
  test.serial('gemm backend', (t) => {
    const b = cuda.gemmBackend();
    t.log(b);
    t.regex(b, /^(cublas|mma\.sync)/);
  });

  for (const path of listFixtures()) {
    const meta = fixtureMeta(path);
    if (NO_DISPATCH.has(meta.op)) continue;
    test.serial(`fixture ${fixtureName(path)}`, async (t) => {
      const f = readFixture(path);
      const inputs: (Tensor | null)[] = [];
      for (let i = 0; i < meta.nInputs; i++) {
        const raw = f.tensors.get(`in.${i}`);
        inputs.push(raw ? toTensor(raw) : null);
      }
      const inPlace = meta.op === 'adamw' || meta.op === 'clip_grad_norm';
      const res = await compareDevices(meta.op, inputs, meta.attrs, { grad: meta.hasGrad, inPlace });
      for (const r of res)
        t.true(
          r.nonFinite === 0 && r.rel <= F32_TOL,
          `${r.what}: rel ${r.rel.toExponential(2)}, ${r.nonFinite} non-finite`,
        );
      for (const x of inputs) x?.dispose();
    });
  }

  // Fresh random inputs at odd sizes: [op, inputs(), attrs, grad].
  type Case = [string, () => (Tensor | null)[], Options, boolean];
  const cases: Case[] = [
    ['add', () => [randomF32([3, 37, 19]), randomF32([37, 1])], {}, true],
    ['sub', () => [randomF32([5, 1, 33]), randomF32([7, 1])], {}, true],
    ['mul', () => [randomF32([129, 77]), randomF32([77])], {}, true],
    ['div', () => [randomF32([31, 45]), randomF32([31, 1])], {}, true],
    ['scale', () => [randomF32([1001])], { alpha: 1.7, beta: -0.3 }, true],
    ['gelu', () => [randomF32([3, 333], 4)], { approximate: 'none' }, true],
    ['gelu', () => [randomF32([3, 333], 4)], { approximate: 'tanh' }, true],
    ['quick_gelu', () => [randomF32([517], 4)], {}, true],
    ['silu', () => [randomF32([2, 259], 4)], {}, true],
    ['geglu', () => [randomF32([5, 3, 70])], {}, true],
    ['swiglu', () => [randomF32([7, 129]), randomF32([7, 129])], {}, true],
    ['softmax', () => [randomF32([13, 1031], 5)], {}, true],
    ['layer_norm', () => [randomF32([9, 301]), randomF32([301]), randomF32([301])], { eps: 1e-5 }, true],
    ['rms_norm', () => [randomF32([9, 301]), randomF32([301])], { eps: 1e-6 }, true],
    [
      'group_norm',
      () => [randomF32([3, 12, 7, 9]), randomF32([12]), randomF32([12])],
      { groups: 4, eps: 1e-5, silu: 1 },
      true,
    ],
    ['sum', () => [randomF32([7, 33, 65])], { dims: [0, 2] }, true],
    ['mean', () => [randomF32([7, 33, 65])], { dims: [1], keepdim: 1 }, true],
    ['mse_loss', () => [randomF32([17, 29]), randomF32([17, 29])], { reduction: 'mean' }, true],
    ['cross_entropy', () => [randomF32([37, 1003], 3), randomIds(37, 1003)], { reduction: 'mean' }, true],
    ['embedding', () => [randomF32([1001, 67]), randomIds(333, 1001)], {}, true],
    ['rope', () => [randomF32([2, 3, 17, 64]), randomIds(17, 4096)], { theta: 10000 }, true],
    ['upsample_nearest2x', () => [randomF32([2, 3, 7, 5])], {}, true],
    ['permute', () => [randomF32([3, 5, 7, 11])], { dims: [0, 2, 3, 1] }, true],
    ['concat', () => [randomF32([3, 5, 7]), randomF32([3, 2, 7])], { dim: 1 }, true],
    ['split', () => [randomF32([3, 9, 7])], { dim: 1, sizes: [2, 4, 3] }, true],
    ['slice', () => [randomF32([4, 9, 7])], { dim: 2, start: 1, end: 6 }, true],
    ['matmul', () => [randomF32([3, 67, 129]), randomF32([3, 129, 45])], {}, true],
    ['matmul', () => [randomF32([2, 129, 67]), randomF32([45, 129])], { transA: 1, transB: 1, alpha: 0.5 }, true],
    [
      'linear',
      () => [randomF32([3, 37, 130]), randomF32([77, 130]), randomF32([77])],
      { activation: 'gelu_tanh' },
      true,
    ],
    ['linear', () => [randomF32([257, 96]), randomF32([131, 96]), null], { activation: 'silu' }, true],
    // Part 2: fused attention (GQA, causal bottom-right, masks, cross, odd head dims).
    [
      'attention',
      () => [randomF32([2, 4, 37, 64]), randomF32([2, 2, 53, 64]), randomF32([2, 2, 53, 64]), null],
      {},
      true,
    ],
    [
      'attention',
      () => [randomF32([1, 3, 45, 80]), randomF32([1, 3, 45, 80]), randomF32([1, 3, 45, 80]), null],
      { causal: 1 },
      true,
    ],
    [
      'attention',
      () => [randomF32([2, 2, 61, 128]), randomF32([2, 1, 77, 128]), randomF32([2, 1, 77, 96]), null],
      { causal: 1, scale: 0.3 },
      true,
    ],
    [
      'attention',
      () => [
        randomF32([2, 4, 33, 40]),
        randomF32([2, 4, 77, 40]),
        randomF32([2, 4, 77, 40]),
        randomF32([2, 1, 1, 77], 3),
      ],
      {},
      true,
    ],
    [
      'attention',
      () => [
        randomF32([1, 2, 19, 17]),
        randomF32([1, 2, 23, 17]),
        randomF32([1, 2, 23, 17]),
        randomBool([1, 2, 19, 23]),
      ],
      {},
      true,
    ],
    // bf16 runs of these take the tensor-core tiles (d == dv in {64, 80, 128}); f32 the row kernels.
    [
      'attention',
      () => [
        randomF32([2, 8, 77, 64]),
        randomF32([2, 2, 130, 64]),
        randomF32([2, 2, 130, 64]),
        randomBool([2, 1, 77, 130]),
      ],
      { causal: 1 },
      true,
    ],
    [
      'attention',
      () => [
        randomF32([1, 2, 130, 128]),
        randomF32([1, 2, 77, 128]),
        randomF32([1, 2, 77, 128]),
        randomF32([1, 2, 1, 77], 3),
      ],
      { causal: 1 },
      true,
    ],
    [
      'attention',
      () => [randomF32([1, 2, 1000, 80]), randomF32([1, 2, 1000, 80]), randomF32([1, 2, 1000, 80]), null],
      { causal: 1 },
      true,
    ],
    [
      'attention',
      () => [randomF32([2, 4, 1024, 64]), randomF32([2, 4, 77, 64]), randomF32([2, 4, 77, 64]), null],
      {},
      true,
    ],
    [
      'attention',
      () => [randomF32([1, 8, 333, 128]), randomF32([1, 2, 333, 128]), randomF32([1, 2, 333, 128]), null],
      {},
      true,
    ],
    // Part 2: conv2d (3x3 / 1x1, stride 2, padding, groups, depthwise, bias).
    ['conv2d', () => [randomF32([2, 5, 13, 11]), randomF32([7, 5, 3, 3]), randomF32([7])], { padding: 1 }, true],
    ['conv2d', () => [randomF32([2, 6, 15, 12]), randomF32([9, 6, 3, 3]), null], { stride: 2, padding: [1, 0] }, true],
    ['conv2d', () => [randomF32([1, 16, 9, 9]), randomF32([8, 16, 1, 1]), randomF32([8])], {}, true],
    [
      'conv2d',
      () => [randomF32([2, 6, 10, 9]), randomF32([4, 3, 3, 2]), randomF32([4])],
      { groups: 2, padding: 1 },
      true,
    ],
    [
      'conv2d',
      () => [randomF32([2, 8, 11, 7]), randomF32([8, 1, 3, 3]), randomF32([8])],
      { groups: 8, padding: 1, stride: [2, 1] },
      true,
    ],
    // col of one image is 64*9*256*256 = 37.7M elements > half the 64M budget: two chunks.
    [
      'conv2d',
      () => [randomF32([2, 64, 256, 256]), randomF32([8, 64, 3, 3], 0.1), randomF32([8])],
      { padding: 1 },
      true,
    ],
    // The implicit-GEMM kernel (bf16 / f16, groups 1): odd channels and sizes, stride 2,
    // several M (Cout > 128), N and K (> 32) tiles, 1x1.
    ['conv2d', () => [randomF32([2, 3, 9, 9]), randomF32([7, 3, 3, 3]), randomF32([7])], { padding: 1 }, true],
    [
      'conv2d',
      () => [randomF32([2, 5, 13, 13]), randomF32([7, 5, 3, 3]), randomF32([7])],
      { stride: 2, padding: 1 },
      true,
    ],
    ['conv2d', () => [randomF32([2, 40, 9, 11]), randomF32([130, 40, 1, 1]), null], {}, true],
    ['conv2d', () => [randomF32([2, 5, 13, 13]), randomF32([7, 5, 1, 1]), randomF32([7])], { stride: 2 }, true],
    [
      'conv2d',
      () => [randomF32([2, 64, 17, 15]), randomF32([96, 64, 3, 3], 0.1), randomF32([96])],
      { padding: 1 },
      true,
    ],
    // The fused group norm + SiLU prologue (inference only: no gradients).
    [
      'group_norm_conv2d',
      () => [randomF32([2, 6, 9, 9], 2), randomF32([6]), randomF32([6]), randomF32([7, 6, 3, 3]), randomF32([7])],
      { normGroups: 2, eps: 1e-5, silu: 1, padding: 1 },
      false,
    ],
    [
      'group_norm_conv2d',
      () => [randomF32([2, 5, 13, 13], 2), randomF32([5]), randomF32([5]), randomF32([7, 5, 3, 3]), null],
      { normGroups: 5, eps: 1e-5, silu: 1, stride: 2, padding: 1 },
      false,
    ],
    [
      'group_norm_conv2d',
      () => [randomF32([2, 64, 16, 16], 2), null, null, randomF32([130, 64, 1, 1], 0.1), randomF32([130])],
      { normGroups: 32, eps: 1e-5, silu: 0 },
      false,
    ],
  ];
  // CUDA computes on bf16 / f16 tensors; the CPU reference on the same values widened to f32.
  // attention's mask (input 3) stays bool / f32. Gradients too for the part-2 ops.
  const lowPrecision = async (
    t: ExecutionContext,
    op: string,
    make: () => (Tensor | null)[],
    attrs: Options,
    dtype: 'bf16' | 'f16',
  ) => {
    const ins = make();
    const low = (x: Tensor | null, i: number) => x?.dtype === 'f32' && !(op === 'attention' && i === 3);
    const lp = await Promise.all(ins.map(async (x, i) => (low(x, i) ? (await runOp('cast', [x], { dtype }))[0]! : x)));
    const widened = await Promise.all(
      lp.map(async (x, i) => (low(ins[i]!, i) ? (await runOp('cast', [x], { dtype: 'f32' }))[0]! : x)),
    );
    const res = await compareDevices(op, lp, attrs, {
      grad: op === 'attention' || op === 'conv2d',
      cpuInputs: widened,
    });
    for (const r of res)
      t.true(r.nonFinite === 0 && r.rel <= BF16_TOL, `${dtype} ${r.what}: rel ${r.rel.toExponential(2)}`);
  };
  for (const [op, make, attrs, grad] of cases) {
    test.serial(`random f32 ${op} ${JSON.stringify(attrs)}`, async (t) => {
      const res = await compareDevices(op, make(), attrs, { grad });
      for (const r of res)
        t.true(
          r.nonFinite === 0 && r.rel <= F32_TOL,
          `${r.what}: rel ${r.rel.toExponential(2)}, ${r.nonFinite} non-finite`,
        );
    });
    if (op === 'embedding' || op === 'cross_entropy' || op === 'rope') continue;
    test.serial(`random bf16 ${op} ${JSON.stringify(attrs)}`, (t) => lowPrecision(t, op, make, attrs, 'bf16'));
    // f16 through the implicit-GEMM conv and the fused prologue as well.
    if ((op === 'conv2d' && !attrs.groups) || op === 'group_norm_conv2d')
      test.serial(`random f16 ${op} ${JSON.stringify(attrs)}`, (t) => lowPrecision(t, op, make, attrs, 'f16'));
  }

  // f16 attention (tensor-core tiles) against the CPU on the same f16-rounded values.
  const f16Attention: Case[] = [
    [
      'attention',
      () => [
        randomF32([2, 8, 77, 80]),
        randomF32([2, 2, 130, 80]),
        randomF32([2, 2, 130, 80]),
        randomF32([2, 1, 1, 130], 3),
      ],
      { causal: 1 },
      true,
    ],
    [
      'attention',
      () => [
        randomF32([1, 4, 200, 128]),
        randomF32([1, 4, 1000, 128]),
        randomF32([1, 4, 1000, 128]),
        randomBool([1, 4, 200, 1000]),
      ],
      {},
      true,
    ],
    [
      'attention',
      () => [randomF32([2, 2, 1024, 64]), randomF32([2, 1, 77, 64]), randomF32([2, 1, 77, 64]), null],
      {},
      true,
    ],
  ];
  const cast = async (xs: (Tensor | null)[], dtype: string) =>
    Promise.all(
      xs.map(async (x, i) => (x && x.dtype !== 'bool' && i < 3 ? (await runOp('cast', [x], { dtype }))[0]! : x)),
    );
  for (const [op, make, attrs] of f16Attention) {
    test.serial(`random f16 ${op} ${JSON.stringify(attrs)}`, async (t) => {
      const h = await cast(make(), 'f16');
      const res = await compareDevices(op, h, attrs, { grad: true, cpuInputs: await cast(h, 'f32') });
      for (const r of res) t.true(r.nonFinite === 0 && r.rel <= BF16_TOL, `${r.what}: rel ${r.rel.toExponential(2)}`);
    });
  }

  // The tensor-core tiles against the row kernels on the same card: VLV_ATTENTION is read at
  // each call, so one process runs both.
  const onCuda = async (ins: (Tensor | null)[], attrs: Options, rows: boolean) => {
    if (rows) process.env.VLV_ATTENTION = 'rows';
    try {
      const leaves = await Promise.all(
        ins.map(async (x, i) => {
          if (!x) return null;
          const c = await x.to('cuda');
          if (i < 3) c.requiresGrad = true;
          return c;
        }),
      );
      const [o, lse] = await runOp('attention', leaves, attrs);
      const n = o!.shape.reduce((a, b) => a * b, 1);
      const g = await Tensor.from(
        Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 0.5),
        o!.shape,
      ).to('cuda');
      await backward([o!], [(await runOp('cast', [g], { dtype: o!.dtype }))[0]!]);
      cuda.synchronize();
      return [o!, lse!, leaves[0]!.grad, leaves[1]!.grad, leaves[2]!.grad];
    } finally {
      delete process.env.VLV_ATTENTION;
    }
  };
  for (const dtype of ['bf16', 'f16']) {
    test.serial(`attention ${dtype}: tensor-core tiles against the row kernels (VLV_ATTENTION=rows)`, async (t) => {
      const ins = await cast(
        [
          randomF32([2, 8, 77, 128]),
          randomF32([2, 2, 130, 128]),
          randomF32([2, 2, 130, 128]),
          randomBool([2, 1, 77, 130]),
        ],
        dtype,
      );
      const tiled = await onCuda(ins, { causal: 1 }, false);
      const rows = await onCuda(ins, { causal: 1 }, true);
      ['out', 'lse', 'grad q', 'grad k', 'grad v'].forEach((what, i) => {
        const d = diff(values(tiled[i]!), values(rows[i]!));
        t.true(d.nonFinite === 0 && d.rel <= BF16_TOL, `${what}: rel ${d.rel.toExponential(2)}`);
      });
    });
  }

  test.serial('scheduler_step: the CPU bits, with and without the optional inputs and guidance', async (t) => {
    const attrs = { x0Sample: 1.3, x0Model: -0.7, clip: 1, sampleCoef: 0.9, modelCoef: 0.2, x0Coef: 0.4 };
    const shape = [2, 4, 17, 19];
    const full = await compareDevices(
      'scheduler_step',
      [randomF32(shape, 2), randomF32(shape, 2), randomF32(shape), randomF32(shape)],
      { ...attrs, prevX0Coef: -0.3, noiseCoef: 0.05 },
    );
    const bare = await compareDevices('scheduler_step', [randomF32(shape, 2), randomF32(shape, 2), null, null], {
      ...attrs,
      clip: 0,
    });
    // Classifier-free guidance folded in: model_output [uncond; cond] of twice the batch.
    const guided = await compareDevices(
      'scheduler_step',
      [randomF32(shape, 2), randomF32([4, 4, 17, 19], 2), null, randomF32(shape)],
      { ...attrs, noiseCoef: 0.1, guidance: 7.5 },
    );
    for (const r of [...full, ...bare, ...guided]) t.is(r.rel, 0, `${r.what}: rel ${r.rel}`);
  });

  test.serial('optimiser: adamw and clip_grad_norm in place', async (t) => {
    const p = randomF32([1237]),
      g = randomF32([1237]),
      m = randomF32([1237], 0.1);
    const v = (await runOp('mul', [m, m]))[0]!;
    const res = await compareDevices('adamw', [p, g, m, v], { lr: 1e-3, step: 3 }, { inPlace: true });
    for (const r of res) t.true(r.rel <= F32_TOL, `${r.what}: rel ${r.rel}`);
    const grads = [randomF32([17, 33], 3), randomF32([5000], 3), randomF32([3])];
    const res2 = await compareDevices('clip_grad_norm', grads, { maxNorm: 1 }, { inPlace: true });
    for (const r of res2) t.true(r.rel <= F32_TOL, `${r.what}: rel ${r.rel}`);
  });

  test.serial('cast between every dtype', async (t) => {
    const x = randomF32([2049], 300);
    for (const [from, to] of [
      ['f32', 'bf16'],
      ['f32', 'f16'],
      ['f32', 'i32'],
      ['f32', 'i64'],
      ['f32', 'u8'],
      ['f32', 'bool'],
      ['bf16', 'f32'],
      ['i32', 'f32'],
    ]) {
      const src = from === 'f32' ? x : (await runOp('cast', [x], { dtype: from! }))[0]!;
      const res = await compareDevices('cast', [src], { dtype: to! });
      for (const r of res) t.is(r.rel, 0, `${from} -> ${to}: ${r.what} rel ${r.rel}`);
    }
  });

  test.serial('Philox: rand and randn are the CPU stream', async (t) => {
    for (const [kind, shape, seed, offset] of [
      ['rand', [1027], 7, 0],
      ['randn', [3, 333], 123456789, 5],
      ['randn', [5], -1, 2 ** 40],
    ] as const) {
      const g = cuda.random(kind, shape, seed, offset);
      const [c] = await runOp(kind, [], { shape: [...shape], seed, offset });
      const d = diff(g.toFloat32(), c!.toFloat32());
      t.true(d.rel <= 1e-6 && d.nonFinite === 0, `${kind}: rel ${d.rel}`);
    }
  });

  test.serial('errors: E_ARG for a bad id or a head dim over 256, E_OOM with sizes', async (t) => {
    const w = await randomF32([10, 4]).to('cuda');
    const ids = await Tensor.from(Int32Array.from([1, 12, 3]), [3], 'i32').to('cuda');
    const e1 = await t.throwsAsync(runOp('embedding', [w, ids]));
    t.is((e1 as VlvError).code, 'E_ARG');
    t.regex(e1.message, /id 12 .*out of range/);
    const e2 = t.throws(() => cuda.random('rand', [2 ** 30, 2 ** 10], 1));
    t.is((e2 as VlvError).code, 'E_OOM');
    t.regex(e2.message, /requested \d+ bytes, \d+ bytes free/);
    const q = await randomF32([1, 1, 4, 300]).to('cuda');
    const e3 = await t.throwsAsync(runOp('attention', [q, q, q, null]));
    t.is((e3 as VlvError).code, 'E_ARG');
    t.regex(e3.message, /head dims must be in \[1, 256\]/);
    // The device is still usable after these errors.
    t.deepEqual(Array.from((await Tensor.from([1, 2, 3], [3]).to('cuda')).toFloat32()), [1, 2, 3]);
  });

  test.serial('caching allocator: in use and reserved, emptyCache', (t) => {
    cuda.synchronize();
    const before = cuda.memory();
    const ts = Array.from({ length: 8 }, () => cuda.random('rand', [1 << 20], 3));
    const during = cuda.memory();
    t.true(during.inUse >= before.inUse + 8 * 4 * (1 << 20));
    for (const x of ts) x.dispose();
    const after = cuda.memory();
    t.is(after.inUse, before.inUse);
    t.true(after.reserved >= during.inUse - before.inUse);
    const hits = after.cacheHits;
    cuda.random('rand', [1 << 20], 3).dispose();
    t.is(cuda.memory().cacheHits, hits + 1);
    cuda.emptyCache();
    t.true(cuda.memory().reserved <= after.reserved - 8 * 4 * (1 << 20));
  });
}
