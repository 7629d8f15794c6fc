// gelu, quick_gelu, silu, geglu, swiglu: bad arguments and thread-count independence.
import test from 'ava';
import { ops, Tensor, VlvError } from '../../lib/index.js';
import { probeUnderThreadCounts, runProbe } from '../helpers/thread-counts.js';

test('gelu / geglu: an unknown approximate is E_ARG', async (t) => {
  const x = Tensor.from([1, 2, 3, 4], [1, 4]);
  for (const op of ['gelu', 'geglu']) {
    const e = await t.throwsAsync(ops.runOp(op, [x], { approximate: 'fast' }), { instanceOf: VlvError });
    t.is(e?.code, 'E_ARG');
    t.regex(e.message, new RegExp(`^${op}: attribute 'approximate'.*fast`));
  }
});

test('geglu: an odd last dim is E_SHAPE', async (t) => {
  const e = await t.throwsAsync(ops.geglu(Tensor.from(new Float32Array(6), [2, 3])), { instanceOf: VlvError });
  t.is(e?.code, 'E_SHAPE');
  t.regex(e.message, /geglu: .*f32\[2,3\]/);
});

test('swiglu: gate and up must have the same shape; f32 only', async (t) => {
  const g = Tensor.from(new Float32Array(6), [2, 3]);
  const e = await t.throwsAsync(ops.swiglu(g, Tensor.from(new Float32Array(3), [3])), { instanceOf: VlvError });
  t.is(e?.code, 'E_SHAPE');
  t.regex(e.message, /swiglu: 'gate' f32\[2,3\] and 'up' f32\[3\]/);
  const d = await t.throwsAsync(ops.silu(Tensor.from([1, 2], [2], 'f64')), { instanceOf: VlvError });
  t.is(d?.code, 'E_DTYPE');
});

test('gelu and silu stay finite at the extremes', async (t) => {
  const x = Tensor.from([-1e30, -100, -20, 0, 20, 100, 1e30]);
  for (const y of [await ops.gelu(x), await ops.gelu(x, 'tanh'), await ops.silu(x), await ops.quickGelu(x)]) {
    const v = y.toArray() as Float32Array;
    t.true(v.slice(1, 6).every(Number.isFinite));
    t.is(v[3], 0);
    t.is(v[5], 100);
  }
});

test('results and gradients do not depend on the thread count', (t) => {
  const [one, ...rest] = probeUnderThreadCounts('activation', [1, 2, 3]);
  t.regex(one!, /swiglu [0-9a-f]{16}/);
  for (const r of rest) t.is(r, one!);
});

test('the AVX-512 and scalar paths agree within 1e-6 relative (silu, quick_gelu, gelu tanh)', (t) => {
  const simd = JSON.parse(runProbe('activation-values', {})) as Record<string, number[]>;
  const scalar = JSON.parse(runProbe('activation-values', { VLV_SIMD: 'scalar' })) as Record<string, number[]>;
  t.is(Object.keys(simd).length, 6);
  for (const [name, a] of Object.entries(simd)) {
    const b = scalar[name]!;
    let num = 0;
    let den = 0;
    for (let i = 0; i < a.length; i++) {
      num += (a[i]! - b[i]!) ** 2;
      den += b[i]! ** 2;
    }
    const rel = Math.sqrt(num / den);
    t.true(rel <= 1e-6, `${name}: rel ${rel}`);
    t.log(`${name}: rel ${rel.toExponential(2)}`);
  }
});
