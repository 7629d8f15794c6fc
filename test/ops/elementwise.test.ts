// add/sub/mul/div, scale, cast: what the fixtures cannot show (errors, the parallel paths on
// large tensors, thread-count independence).
import test from 'ava';
import { ops, Tensor, VlvError } from '../../lib/index.js';
import { lcgValues, probeUnderThreadCounts } from '../helpers/thread-counts.js';

test('non-broadcastable shapes: E_SHAPE naming the op and both shapes', async (t) => {
  const a = Tensor.from(new Float32Array(6), [2, 3]);
  const b = Tensor.from(new Float32Array(4), [4]);
  for (const op of [ops.add, ops.sub, ops.mul, ops.div]) {
    const e = await t.throwsAsync(op(a, b), { instanceOf: VlvError });
    t.is(e?.code, 'E_SHAPE');
    t.regex(e.message, /\[2,3\]/);
    t.regex(e.message, /\[4\]/);
    t.regex(e.message, /^(add|sub|mul|div):/);
  }
  const c = Tensor.from(new Float32Array(6), [3, 2]);
  const e = await t.throwsAsync(ops.mul(a, c));
  t.is((e as VlvError).code, 'E_SHAPE');
});

test('non-f32 operands: E_DTYPE', async (t) => {
  const a = Tensor.from([1, 2, 3], [3], 'i32');
  const b = Tensor.from([1, 2, 3], [3]);
  const e = await t.throwsAsync(ops.add(b, a));
  t.is((e as VlvError).code, 'E_DTYPE');
  t.regex(e.message, /add: 'b'/);
  const s = await t.throwsAsync(ops.scale(a, 2));
  t.is((s as VlvError).code, 'E_DTYPE');
});

test('cast: unknown dtype is E_DTYPE, missing dtype E_ARG', async (t) => {
  const x = Tensor.from([1, 2]);
  const e = await t.throwsAsync(ops.runOp('cast', [x], { dtype: 'f8' }));
  t.is((e as VlvError).code, 'E_DTYPE');
  t.regex(e.message, /f8/);
  const m = await t.throwsAsync(ops.runOp('cast', [x], {}));
  t.is((m as VlvError).code, 'E_ARG');
  t.regex(m.message, /cast: attribute 'dtype'/);
});

test('cast: f32 -> bf16 -> f32 rounds to nearest even on a large tensor', async (t) => {
  const n = 100_003;
  const x = lcgValues(n, 7, 1000);
  const back = (await ops.cast(await ops.cast(Tensor.from(x), 'bf16'), 'f32')).toArray() as Float32Array;
  const bits = new Uint32Array(x.buffer);
  const want = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const b = bits[i]!;
    want[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) << 16;
  }
  t.deepEqual(new Uint32Array(back.buffer), want);
});

test('large broadcasts match a JS reference (parallel row and long-row paths)', async (t) => {
  const [R, C] = [301, 997];
  const xa = lcgValues(R * C, 1);
  const xb = lcgValues(C, 2);
  const xc = lcgValues(R, 3);
  const a = Tensor.from(xa, [R, C]);
  const bias = Tensor.from(xb, [C]);
  const col = Tensor.from(xc, [R, 1]);
  const sum = (await ops.add(a, bias)).toArray() as Float32Array;
  const quo = (await ops.div(col, a)).toArray() as Float32Array;
  const prod = (await ops.mul(a, a)).toArray() as Float32Array;
  let bad = 0;
  for (let r = 0; r < R; r++)
    for (let c = 0; c < C; c++) {
      const i = r * C + c;
      if (sum[i] !== Math.fround(xa[i]! + xb[c]!)) bad++;
      if (quo[i] !== Math.fround(xc[r]! / xa[i]!)) bad++;
      if (prod[i] !== Math.fround(xa[i]! * xa[i]!)) bad++;
    }
  t.is(bad, 0);
});

test('results and gradients do not depend on the thread count', (t) => {
  const [one, ...rest] = probeUnderThreadCounts('elementwise', [1, 2, 3]);
  t.regex(one!, /cast [0-9a-f]{16}/);
  for (const r of rest) t.is(r, one!);
});
