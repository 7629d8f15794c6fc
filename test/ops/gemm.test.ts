// The shared GEMM through matmul / linear, beyond the fixtures: larger odd sizes (many tiles,
// partial tiles, several K blocks) against a float64 reference, every transpose combination,
// every SIMD level and 1 vs 2 threads (child processes with VLV_SIMD / VLV_NUM_THREADS),
// error cases.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { backward, ops, Tensor } from '../../lib/index.js';
import { COMBOS, rand, runMatmul, type MatmulCase } from '../helpers/gemm-cases.js';

/** alpha * op(a)[M,K] @ op(b)[K,N] in float64; a stored [K,M] when ta, b stored [N,K] when tb. */
function refMatmul(
  a: Float32Array,
  b: Float32Array,
  M: number,
  K: number,
  N: number,
  ta: boolean,
  tb: boolean,
  alpha = 1,
) {
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let k = 0; k < K; k++) {
      const av = alpha * (ta ? a[k * M + m]! : a[m * K + k]!);
      for (let n = 0; n < N; n++) c[m * N + n]! += av * (tb ? b[n * K + k]! : b[k * N + n]!);
    }
  return c;
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let e = 0;
  let w = 0;
  for (let i = 0; i < want.length; i++) {
    e += (got[i]! - want[i]!) ** 2;
    w += want[i]! ** 2;
  }
  return Math.sqrt(e / Math.max(w, 1e-30));
}

// M x K x N: odd, larger than a tile, K over one 384-deep block, single rows/columns.
const SIZES: [number, number, number][] = [
  [131, 257, 67],
  [67, 401, 131],
  [1, 300, 45],
  [37, 29, 1],
  [200, 3, 33],
];
/** Runs cases in a child process with `env`; returns its SIMD level and the results. */
function inChild(
  cases: MatmulCase[],
  env: Record<string, string>,
): { simd: string; threads: number; out: Float32Array[] } {
  const stdout = execFileSync(
    process.execPath,
    ['--import=tsx', join(import.meta.dirname, '..', 'helpers', 'gemm-child.ts'), JSON.stringify(cases)],
    {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    },
  );
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { simd: string; threads: number; out: string[] };
  return { ...r, out: r.out.map((b64) => new Float32Array(new Uint8Array(Buffer.from(b64, 'base64')).buffer)) };
}

test('matmul matches a float64 reference on odd sizes, every transpose combination', async (t) => {
  let seed = 1;
  for (const [M, K, N] of SIZES)
    for (const [ta, tb] of COMBOS) {
      const alpha = seed % 3 === 0 ? -0.75 : 1;
      const r = await runMatmul({ M, K, N, ta, tb, alpha, seed: (seed += 2) });
      t.deepEqual(r.shape, [M, N]);
      const err = relErr(r.c, refMatmul(r.a, r.b, M, K, N, ta, tb, alpha));
      t.true(err < 2e-6, `${M}x${K}x${N} ta=${ta} tb=${tb}: rel err ${err}`);
    }
});

test('batched matmul and a shared 2-D b match the reference per batch', async (t) => {
  const [B, M, K, N] = [3, 45, 70, 39];
  for (const [ta, tb] of COMBOS)
    for (const shared of [false, true]) {
      const a = rand(B * M * K, 11);
      const b = rand((shared ? 1 : B) * K * N, 12);
      const c = await ops.matmul(
        Tensor.from(a, ta ? [B, K, M] : [B, M, K]),
        Tensor.from(b, shared ? (tb ? [N, K] : [K, N]) : tb ? [B, N, K] : [B, K, N]),
        { transA: ta, transB: tb },
      );
      const got = c.toArray() as Float32Array;
      for (let i = 0; i < B; i++) {
        const want = refMatmul(
          a.subarray(i * M * K, (i + 1) * M * K),
          shared ? b : b.subarray(i * K * N, (i + 1) * K * N),
          M,
          K,
          N,
          ta,
          tb,
        );
        const err = relErr(got.subarray(i * M * N, (i + 1) * M * N), want);
        t.true(err < 2e-6, `batch ${i} ta=${ta} tb=${tb} shared=${shared}: rel err ${err}`);
      }
    }
});

test('1 and 2 threads give the same bits (VLV_NUM_THREADS)', (t) => {
  // Shapes that split C by rows, by columns, and a batch of small GEMMs spread over threads.
  const cases: MatmulCase[] = [
    ...COMBOS.map(([ta, tb], i) => ({ M: 301, K: 517, N: 263, ta, tb, seed: 40 + 2 * i })),
    { M: 77, K: 300, N: 1100, ta: false, tb: true, seed: 50 },
    { M: 1500, K: 64, N: 40, ta: false, tb: false, seed: 52 },
    // The GEMV path (M == 1 or N == 1), split over n.
    { M: 1, K: 700, N: 3001, ta: false, tb: true, seed: 54 },
    { M: 1, K: 700, N: 3001, ta: true, tb: false, seed: 56 },
    { M: 2999, K: 301, N: 1, ta: false, tb: false, seed: 58 },
    { M: 2999, K: 301, N: 1, ta: true, tb: true, seed: 60 },
  ];
  const one = inChild(cases, { VLV_NUM_THREADS: '1' });
  const two = inChild(cases, { VLV_NUM_THREADS: '2' });
  t.is(one.threads, 1);
  t.is(two.threads, 2);
  cases.forEach((c, i) => t.deepEqual(two.out[i], one.out[i], `${c.M}x${c.K}x${c.N} ta=${c.ta} tb=${c.tb}`));
});

test('every SIMD level (VLV_SIMD=scalar|avx2|avx512) matches the reference', (t) => {
  // A packed GEMM, then the two GEMV shapes (M == 1, N == 1), every transpose combination.
  const sizes: [number, number, number][] = [
    [53, 411, 70],
    [1, 133, 77],
    [45, 37, 1],
  ];
  const cases = sizes.flatMap(([M, K, N]) => COMBOS.map(([ta, tb]) => ({ M, K, N, ta, tb, seed: 21 })));
  for (const level of ['scalar', 'avx2', 'avx512']) {
    const r = inChild(cases, { VLV_SIMD: level });
    if (r.simd !== level) t.log(`VLV_SIMD=${level}: this CPU runs ${r.simd}`);
    cases.forEach(({ M, K, N, ta, tb }, i) => {
      const err = relErr(r.out[i]!, refMatmul(rand(M * K, 21), rand(K * N, 22), M, K, N, ta, tb));
      t.true(err < 2e-6, `${level} ${M}x${K}x${N} ta=${ta} tb=${tb}: rel err ${err}`);
    });
  }
});

test('linear with bias and activation on a large odd shape matches the reference', async (t) => {
  const [R, IN, OUT] = [131, 67, 257];
  const x = rand(R * IN, 31);
  const w = rand(OUT * IN, 32);
  const bias = rand(OUT, 33);
  const pre = refMatmul(x, w, R, IN, OUT, false, true);
  for (let i = 0; i < pre.length; i++) pre[i]! += bias[i % OUT]!;
  const acts: Record<string, (v: number) => number> = {
    none: (v) => v,
    silu: (v) => v / (1 + Math.exp(-v)),
    quick_gelu: (v) => v / (1 + Math.exp(-1.702 * v)),
    gelu_tanh: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
  };
  for (const [name, f] of Object.entries(acts)) {
    const y = await ops.linear(
      Tensor.from(x, [R, IN]),
      Tensor.from(w, [OUT, IN]),
      Tensor.from(bias, [OUT]),
      name as ops.Activation,
    );
    const err = relErr(y.toArray() as Float32Array, pre.map(f));
    t.true(err < 2e-6, `${name}: rel err ${err}`);
  }
});

/** erf in float64: the Taylor series up to |x| = 5 (error < 1e-9 there), +-1 beyond. */
function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (Math.abs(x) > 5) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 200 && Math.abs(term) > 1e-17; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

test('fused activations and their gradients: wide range and saturation', async (t) => {
  // linear with an identity weight: the pre-activation is x itself (so no NaN: the GEMM would
  // spread it over the row). 41 values: a SIMD tail.
  const vals = [...Array.from({ length: 37 }, (_, i) => -18 + i), 1e-3, -150, 150, 0.5];
  const n = vals.length;
  const eye = new Float32Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const k = Math.sqrt(2 / Math.PI);
  const fns: Record<string, [(v: number) => number, (v: number) => number]> = {
    gelu: [
      (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
      (v) => 0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI),
    ],
    gelu_tanh: [
      (v) => 0.5 * v * (1 + Math.tanh(k * (v + 0.044715 * v ** 3))),
      (v) => {
        const th = Math.tanh(k * (v + 0.044715 * v ** 3));
        return 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * k * (1 + 3 * 0.044715 * v * v);
      },
    ],
    silu: [(v) => v * sig(v), (v) => sig(v) * (1 + v * (1 - sig(v)))],
    quick_gelu: [(v) => v * sig(1.702 * v), (v) => sig(1.702 * v) + 1.702 * v * sig(1.702 * v) * (1 - sig(1.702 * v))],
  };
  for (const [name, [f, df]] of Object.entries(fns)) {
    const x = Tensor.from(Float32Array.from(vals), [1, n]);
    x.requiresGrad = true;
    const y = await ops.linear(x, Tensor.from(eye, [n, n]), null, name as ops.Activation);
    await backward(y, Tensor.from(new Float32Array(n).fill(1), [1, n]));
    const got = y.toArray() as Float32Array;
    const grad = x.grad!.toArray() as Float32Array;
    vals.forEach((v, i) => {
      const v32 = Math.fround(v);
      for (const [what, g, want] of [
        ['f', got[i]!, f(v32)],
        ["f'", grad[i]!, df(v32)],
      ] as [string, number, number][]) {
        if (Number.isNaN(want)) t.true(Number.isNaN(g), `${name} ${what}(${v}) = ${g}, want NaN`);
        else
          t.true(
            Math.abs(g - want) <= 2e-6 * Math.max(1, Math.abs(want)),
            `${name} ${what}(${v}) = ${g}, want ${want}`,
          );
      }
    });
  }
});

test('bad shapes, dtypes and attributes throw typed errors naming the op', async (t) => {
  const m = (r: number, c: number) => Tensor.from(rand(r * c, 1), [r, c]);
  await t.throwsAsync(ops.matmul(m(3, 4), m(5, 6)), { code: 'E_SHAPE', message: /matmul: inner dimensions differ/ });
  await t.throwsAsync(ops.matmul(m(3, 4), m(3, 6), { transA: true, transB: true }), {
    code: 'E_SHAPE',
    message: /matmul/,
  });
  await t.throwsAsync(ops.matmul(Tensor.from(rand(24, 1), [2, 3, 4]), Tensor.from(rand(24, 1), [3, 4, 2])), {
    code: 'E_SHAPE',
    message: /matmul: batch dimensions differ/,
  });
  await t.throwsAsync(ops.matmul(m(3, 4), Tensor.from(rand(32, 1), [2, 4, 4])), {
    code: 'E_SHAPE',
    message: /batch dimensions differ/,
  });
  await t.throwsAsync(ops.matmul(Tensor.from(rand(4, 1), [4]), m(4, 2)), {
    code: 'E_SHAPE',
    message: /matmul: 'a' must have at least 2/,
  });
  await t.throwsAsync(ops.matmul(Tensor.from(new Float64Array(12), [3, 4]), m(4, 2)), {
    code: 'E_DTYPE',
    message: /matmul/,
  });
  await t.throwsAsync(ops.matmul(m(3, 4), Tensor.from(new Int32Array(8), [4, 2])), {
    code: 'E_DTYPE',
    message: /matmul/,
  });
  await t.throwsAsync(ops.linear(m(3, 4), m(5, 6)), {
    code: 'E_SHAPE',
    message: /linear: x .* has 4 input features but w/,
  });
  await t.throwsAsync(ops.linear(m(3, 4), m(5, 4), Tensor.from(rand(4, 1), [4])), {
    code: 'E_SHAPE',
    message: /linear: bias/,
  });
  await t.throwsAsync(ops.linear(m(3, 4), Tensor.from(rand(20, 1), [5, 4, 1])), {
    code: 'E_SHAPE',
    message: /linear: 'w'/,
  });
  await t.throwsAsync(ops.linear(Tensor.from(new Float64Array(12), [3, 4]), m(5, 4)), {
    code: 'E_DTYPE',
    message: /linear/,
  });
  await t.throwsAsync(ops.linear(m(3, 4), m(5, 4), null, 'relu' as ops.Activation), {
    code: 'E_ARG',
    message: /linear: unknown activation 'relu'/,
  });
});
