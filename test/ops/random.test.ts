// rand / randn: the Philox 4x32-10 stream of csrc/core/philox.h. Fixtures (random/*) check it
// against an independent Python implementation; here: Random123's known answers, offsets,
// seeds beyond 2^53, thread-count independence, statistics and errors.
import test from 'ava';
import { info, ops, setNumThreads } from '../../lib/index.js';
import { expectError } from '../helpers/expect-error.js';

const uniformOf = (word: number) => (word >>> 8) * 2 ** -24;

test('rand reproduces the Random123 known answer for counter 0, key 0', async (t) => {
  // kat_vectors: philox4x32 10, ctr 0 0 0 0, key 0 0 -> 6627e8d5 e169c58d bc57ac4c 9b00dbd8.
  // Our block b of seed s is ctr = (b lo, b hi, 0, 0), key = (s lo, s hi): seed 0, offset 0.
  // The two other vectors (ctr words 2 and 3 non-zero) are outside the stream; the Python
  // reference of the fixtures checks all three.
  const r = await ops.rand([4], 0, 0);
  t.deepEqual(Array.from(r.toFloat32()), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8].map(uniformOf));
});

test('offset counts blocks of 4 elements: a later offset continues the stream', async (t) => {
  for (const op of [ops.rand, ops.randn]) {
    const whole = (await op([40], 77, 5)).toFloat32();
    const tail = (await op([12], 77, 5 + 7)).toFloat32();
    t.deepEqual(Array.from(tail), Array.from(whole.subarray(28, 40)));
  }
});

test('values depend on the element index only, not on the shape', async (t) => {
  for (const op of [ops.rand, ops.randn]) {
    const a = (await op([3, 5, 7], 9, 1)).toFloat32();
    const b = (await op([105], 9, 1)).toFloat32();
    const c = (await op([101], 9, 1)).toFloat32();
    t.deepEqual(Array.from(a), Array.from(b));
    t.deepEqual(Array.from(c), Array.from(b.subarray(0, 101)));
  }
});

test('seeds are 64-bit: BigInt seeds past 2^53, and -1 is the all-ones key', async (t) => {
  const big = (await ops.rand([8], 0xffffffffffffffffn)).toFloat32();
  const minus1 = (await ops.rand([8], -1)).toFloat32();
  t.deepEqual(Array.from(big), Array.from(minus1));
  const a = (await ops.rand([8], 2n ** 60n + 1n)).toFloat32();
  const b = (await ops.rand([8], 2n ** 60n + 2n)).toFloat32();
  t.notDeepEqual(Array.from(a), Array.from(b));
  const n40 = (await ops.rand([8], 2 ** 40)).toFloat32();
  const b40 = (await ops.rand([8], 2n ** 40n)).toFloat32();
  t.deepEqual(Array.from(n40), Array.from(b40));
  // The high word of the seed matters (key[1]).
  const hi = (await ops.rand([8], 2 ** 32)).toFloat32();
  const lo = (await ops.rand([8], 0)).toFloat32();
  t.notDeepEqual(Array.from(hi), Array.from(lo));
});

test.serial('the output does not depend on the thread count', async (t) => {
  const before = info().threads;
  try {
    const runs: Float32Array[][] = [];
    for (const n of [1, 3]) {
      setNumThreads(n);
      runs.push([(await ops.rand([100003], 5, 11)).toFloat32(), (await ops.randn([100003], 5, 11)).toFloat32()]);
    }
    t.deepEqual(runs[0]![0], runs[1]![0]);
    t.deepEqual(runs[0]![1], runs[1]![1]);
  } finally {
    setNumThreads(before);
  }
});

test('statistics of 1e6 draws: normal mean 0, variance 1; uniform in [0,1) with mean 1/2', async (t) => {
  const n = 1_000_000;
  const z = (await ops.randn([n], 2024)).toFloat32();
  let s1 = 0,
    s2 = 0,
    s4 = 0;
  for (const v of z) {
    s1 += v;
    s2 += v * v;
    s4 += v * v * v * v;
  }
  const mean = s1 / n,
    variance = s2 / n - mean * mean;
  t.true(Math.abs(mean) < 0.005, `mean ${mean}`); // 5 standard errors
  t.true(Math.abs(variance - 1) < 0.01, `variance ${variance}`); // ~7 standard errors
  t.true(Math.abs(s4 / n - 3) < 0.05, `fourth moment ${s4 / n}`);
  t.true(z.every(Number.isFinite));
  const u = (await ops.rand([n], 2024)).toFloat32();
  let m = 0,
    lo = Infinity,
    hi = -Infinity;
  for (const v of u) {
    m += v;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  t.true(Math.abs(m / n - 0.5) < 0.002, `uniform mean ${m / n}`);
  t.true(lo >= 0 && hi < 1, `range [${lo}, ${hi}]`);
});

test('errors: missing seed, negative shape, tensor inputs', async (t) => {
  await expectError(t, ops.runOp('randn', [], { shape: [3] }), 'E_ARG', /randn: attribute 'seed' is required/);
  await expectError(t, ops.rand([2, -1], 0), 'E_SHAPE', /rand: attribute 'shape' \[2,-1\] has a negative dimension/);
  const x = await ops.rand([2], 0);
  await expectError(t, ops.runOp('rand', [x], { shape: [2], seed: 0 }), 'E_ARG', /rand: takes at most 0 tensor inputs/);
});
