// 16-bit weight matrices with f32 activations (csrc/ops/cpu/gemm_w16.cc): what the fixtures
// (test/fixtures/ops/weights16) cannot show: thread-count independence, the same values for a
// row whether it is decoded alone or in a batch, shapes at the real model's sizes against an
// f32 weight holding the same values, and dtype errors.
import test from 'ava';
import { ops, setNumThreads, Tensor, VlvError } from '../../lib/index.js';
import { runOpSync } from '../../lib/ops.js';

const linear = (x: Tensor, w: Tensor, b?: Tensor) => runOpSync('linear', b ? [x, w, b] : [x, w])[0]!;
const arr = (t: Tensor) => t.toArray() as Float32Array;

test('bf16 linear does not depend on the thread count (direct and blocked paths)', async (t) => {
  const w = await ops.cast(await ops.randn([523, 301], 1), 'bf16');
  for (const rows of [1, 7, 40]) {
    const x = await ops.randn([rows, 301], 2);
    setNumThreads(1);
    const one = arr(linear(x, w));
    setNumThreads(2);
    t.deepEqual(arr(linear(x, w)), one, `rows ${rows}`);
  }
});

test('a row gives the same bits decoded alone or with up to 16 others', async (t) => {
  const w = await ops.cast(await ops.randn([70, 131], 3), 'bf16');
  const x = await ops.randn([9, 131], 4);
  const all = arr(linear(x, w));
  for (const r of [0, 4, 8]) {
    const alone = arr(linear(await ops.slice(x, 0, r, r + 1), w));
    t.deepEqual(alone, all.slice(r * 70, (r + 1) * 70));
  }
});

test('bf16 / f16 weights at model sizes match an f32 weight with the same values', async (t) => {
  for (const dt of ['bf16', 'f16'] as const) {
    const w16 = await ops.cast(await ops.scale(await ops.randn([896, 4864], 5), 0.02), dt);
    const w32 = await ops.cast(w16, 'f32');
    for (const rows of [1, 4, 33]) {
      const x = await ops.randn([rows, 4864], 6);
      const a = arr(linear(x, w16)),
        b = arr(linear(x, w32));
      let num = 0,
        den = 0;
      for (let i = 0; i < a.length; i++) {
        num += (a[i]! - b[i]!) ** 2;
        den += b[i]! ** 2;
      }
      t.true(Math.sqrt(num / den) < 1e-6, `${dt} rows ${rows}: ${Math.sqrt(num / den)}`);
    }
  }
});

test('dtype errors: a 16-bit input, an i32 weight', async (t) => {
  const w = await ops.cast(await ops.randn([4, 3], 1), 'bf16');
  const xb = await ops.cast(await ops.randn([2, 3], 1), 'bf16');
  t.throws(() => linear(xb, w), { instanceOf: VlvError, message: /linear: 'x' must be f32/ });
  const wi = Tensor.from(Int32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  const x = await ops.randn([2, 3], 1);
  t.throws(() => linear(x, wi), { instanceOf: VlvError, message: /linear: 'w' must be f32, bf16 or f16, got i32/ });
  t.throws(() => runOpSync('embedding', [wi, Tensor.from(BigInt64Array.from([0n]), [1])]), {
    instanceOf: VlvError,
    message: /embedding: 'weight' must be f32, bf16 or f16/,
  });
});
