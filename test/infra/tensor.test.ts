import test from 'ava';
import { Tensor, VlvError, info, ops } from '../../lib/index.js';

test('info reports the build, SIMD level, threads and why CUDA is off', (t) => {
  const i = info();
  t.regex(i.version, /^\d+\.\d+\.\d+/);
  t.true(['scalar', 'avx2', 'avx512'].includes(i.simd));
  t.true(i.threads >= 1);
  t.is(i.backend, i.cuda.available ? 'cuda' : 'cpu');
  if (!i.cuda.available)
    t.regex(i.cuda.reason, /^(no driver|driver too old|no device|library missing|probe failed|off by request)/);
});

test('Tensor.from / toArray round-trips every dtype', (t) => {
  const f = Tensor.from(new Float32Array([1.5, -2, 3.25, 0]), [2, 2]);
  t.deepEqual(f.shape, [2, 2]);
  t.is(f.dtype, 'f32');
  t.deepEqual(Array.from(f.toArray() as Float32Array), [1.5, -2, 3.25, 0]);
  t.is(f.nbytes, 16);
  t.deepEqual(Array.from(Tensor.from(new Float64Array([1e-300, 2])).toArray() as Float64Array), [1e-300, 2]);
  t.deepEqual(Array.from(Tensor.from(new Int32Array([-7, 9])).toArray() as Int32Array), [-7, 9]);
  t.deepEqual(Array.from(Tensor.from(new BigInt64Array([-(2n ** 40n), 3n])).toArray() as BigInt64Array), [
    -(2n ** 40n),
    3n,
  ]);
  t.deepEqual(Array.from(Tensor.from([1, 0, 1], [3], 'bool').toArray() as Uint8Array), [1, 0, 1]);
  t.deepEqual(Array.from(Tensor.from([200, 7], [2], 'u8').toArray() as Uint8Array), [200, 7]);
  t.deepEqual(Array.from(Tensor.from([5, -6], [2], 'i64').toArray() as BigInt64Array), [5n, -6n]);
  const empty = Tensor.zeros([0, 3]);
  t.is(empty.numel, 0);
  t.is(Tensor.scalar(4).shape.length, 0);
});

test('bf16 and f16 are rounded to nearest even and read back as f32', (t) => {
  // 1 + 2^-8 is halfway between two bf16 values: ties go to even (1.0); 1 + 3*2^-9 rounds up.
  const b = Tensor.from([1 + 2 ** -8, 1 + 3 * 2 ** -9, -0.5, 65504], [4], 'bf16');
  t.is(b.dtype, 'bf16');
  t.deepEqual(Array.from(b.toFloat32()), [1, 1 + 2 ** -7, -0.5, 65536]);
  const h = Tensor.from([1 + 2 ** -11, 1 + 3 * 2 ** -12, 65504, 1e-7], [4], 'f16');
  t.deepEqual(Array.from(h.toFloat32()), [1, 1 + 2 ** -10, 65504, Math.fround(2 ** -24 * 2)]);
  t.deepEqual(Array.from(Tensor.from(new Uint16Array([0x3f80, 0xc000]), [2], 'bf16').toFloat32()), [1, -2]);
});

test('bad construction gives typed errors', (t) => {
  const e1 = t.throws(() => Tensor.from([1, 2, 3], [2, 2]), { instanceOf: VlvError });
  t.is(e1?.code, 'E_SHAPE');
  const e2 = t.throws(() => Tensor.from(new Float32Array(3), [-1, 3]), { instanceOf: VlvError });
  t.is(e2?.code, 'E_ARG');
  const ints = Tensor.from(new Int32Array([1]));
  const e3 = t.throws(
    () => {
      ints.requiresGrad = true;
    },
    { instanceOf: VlvError },
  );
  t.is(e3?.code, 'E_DTYPE');
});

test('dispose frees the tensor; later use is E_DISPOSED', async (t) => {
  const x = Tensor.from([1, 2, 3]);
  x.dispose();
  t.true(x.disposed);
  t.is(t.throws(() => x.shape, { instanceOf: VlvError })?.code, 'E_DISPOSED');
  const e = await t.throwsAsync(ops.add(x, x), { instanceOf: VlvError });
  t.is(e?.code, 'E_DISPOSED');
  x.dispose(); // twice is harmless
  {
    using y = Tensor.from([4]);
    t.is(y.numel, 1);
  }
});

test('unknown op and bad attributes are E_ARG', async (t) => {
  const x = Tensor.from([1, 2]);
  const { runOp } = await import('../../lib/ops.js');
  t.is((await t.throwsAsync(runOp('no_such_op', [x]), { instanceOf: VlvError }))?.code, 'E_ARG');
  t.is((await t.throwsAsync(runOp('reshape', [x], { shape: 'x' }), { instanceOf: VlvError }))?.code, 'E_ARG');
  t.is((await t.throwsAsync(runOp('reshape', [x], {}), { instanceOf: VlvError }))?.code, 'E_ARG');
  t.is((await t.throwsAsync(runOp('reshape', [x], { shape: [3] }), { instanceOf: VlvError }))?.code, 'E_SHAPE');
});

test('to() is asynchronous: the same tensor when already there, failures are rejections', async (t) => {
  const x = Tensor.from([1, 2, 3]);
  const p = x.to('cpu');
  t.true(p instanceof Promise);
  t.is(await p, x);
  const gone = Tensor.from([1]);
  gone.dispose();
  const moving = gone.to('cpu'); // never throws synchronously
  t.is((await t.throwsAsync(moving, { instanceOf: VlvError }))?.code, 'E_DISPOSED');
});
