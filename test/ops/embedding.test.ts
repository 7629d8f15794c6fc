// embedding / rope / timestep_embedding: errors and invariants the fixtures do not show
// (embedding/* fixtures check values and gradients against PyTorch).
import test, { type ExecutionContext } from 'ava';
import { backward, info, ops, setNumThreads, Tensor, type VlvErrorCode } from '../../lib/index.js';
import { expectError } from '../helpers/expect-error.js';

const code = (p: Promise<unknown>, c: VlvErrorCode, re: RegExp, t: ExecutionContext) => expectError(t, p, c, re);

function seq(n: number, f: (i: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

test('embedding: out-of-range and negative ids are E_ARG naming the id', async (t) => {
  const w = Tensor.from(
    seq(12, (i) => i),
    [4, 3],
  );
  await code(ops.embedding(w, Tensor.from([0, 4, 1], [3], 'i64')), 'E_ARG', /embedding: id 4 \(at flat index 1/, t);
  await code(
    ops.embedding(w, Tensor.from([2, -1], [2], 'i32')),
    'E_ARG',
    /embedding: id -1 .*out of range for weight f32\[4,3\]/,
    t,
  );
  await code(ops.embedding(w, Tensor.from([0, 1], [2], 'f32')), 'E_DTYPE', /embedding: 'ids' must be i32 or i64/, t);
  await code(
    ops.embedding(Tensor.from([1, 2, 3]), Tensor.from([0], [1], 'i32')),
    'E_SHAPE',
    /embedding: 'weight' must have 2 dimensions/,
    t,
  );
  await code(ops.runOp('embedding', [w]), 'E_ARG', /embedding: argument 'ids' is required/, t);
});

test.serial('embedding: the weight gradient is a scatter-add independent of the thread count', async (t) => {
  const V = 37,
    D = 200,
    N = 3000;
  const wData = seq(V * D, (i) => Math.sin(i));
  const ids = seq(N, (i) => (i * 7919) % V);
  const gData = seq(N * D, (i) => Math.cos(i * 0.37));
  const before = info().threads;
  const grads: Float32Array[] = [];
  try {
    for (const n of [1, 3]) {
      setNumThreads(n);
      const w = Tensor.from(wData, [V, D]);
      w.requiresGrad = true;
      const out = await ops.embedding(w, Tensor.from(ids, [N], 'i32'));
      await backward([out], [Tensor.from(gData, [N, D])]);
      grads.push(w.grad!.toFloat32());
    }
  } finally {
    setNumThreads(before);
  }
  t.deepEqual(grads[0], grads[1]);
  // Against a float64 scatter-add.
  const ref = new Float64Array(V * D);
  const g32 = Float32Array.from(gData);
  ids.forEach((id, n) => {
    for (let d = 0; d < D; d++) ref[id * D + d]! += g32[n * D + d]!;
  });
  let err = 0,
    den = 0;
  ref.forEach((r, i) => {
    err += (grads[0]![i]! - r) ** 2;
    den += r * r;
  });
  t.true(Math.sqrt(err / den) < 1e-6);
});

test('rope: errors name the argument', async (t) => {
  const x = Tensor.zeros([1, 2, 3, 4]);
  await code(
    ops.rope(x, Tensor.from([0, 1], [2], 'i64')),
    'E_SHAPE',
    /rope: positions i64\[2\] must be \[L\] or \[B,L\]/,
    t,
  );
  await code(ops.rope(x, Tensor.from([0, 1, 2, 3, 4, 5], [2, 3], 'i64')), 'E_SHAPE', /rope: positions/, t);
  await code(
    ops.rope(Tensor.zeros([1, 2, 3, 5]), Tensor.from([0, 1, 2], [3], 'i32')),
    'E_SHAPE',
    /head dim .* must be even/,
    t,
  );
  await code(ops.rope(x, Tensor.from([0, 1, 2], [3], 'f32')), 'E_DTYPE', /rope: 'positions' must be i32 or i64/, t);
  await code(
    ops.rope(Tensor.zeros([2, 3, 4]), Tensor.from([0, 1, 2], [3], 'i32')),
    'E_SHAPE',
    /rope: 'x' must have 4 dimensions/,
    t,
  );
  await code(ops.rope(x, Tensor.from([0, 1, 2], [3], 'i32'), 0), 'E_ARG', /theta/, t);
});

test('rope: position 0 is the identity and every pair keeps its length', async (t) => {
  const D = 16,
    L = 6;
  const data = seq(2 * L * D, (i) => Math.sin(i * 1.3) * 2);
  const x = Tensor.from(data, [1, 2, L, D]);
  const y = (await ops.rope(x, Tensor.from([0, 1, 5, 100, 4096, 70000], [L], 'i64'), 1e6)).toFloat32();
  for (let r = 0; r < 2 * L; r++) {
    for (let i = 0; i < D / 2; i++) {
      const a = r * D + i,
        b = a + D / 2;
      const n0 = Math.hypot(data[a]!, data[b]!),
        n1 = Math.hypot(y[a]!, y[b]!);
      t.true(Math.abs(n0 - n1) < 1e-5 * Math.max(1, n0));
      if (r % L === 0)
        t.true(Math.abs(y[a]! - Math.fround(data[a]!)) < 1e-7 && Math.abs(y[b]! - Math.fround(data[b]!)) < 1e-7);
    }
  }
});

test('rope: the backward is the inverse rotation (gradient of <rope(x), g> is rope^-1(g))', async (t) => {
  const x = Tensor.from(
    seq(2 * 3 * 4 * 6, (i) => Math.cos(i)),
    [2, 3, 4, 6],
  );
  x.requiresGrad = true;
  const pos = Tensor.from([3, 1, 4, 1, 5, 9, 2, 6], [2, 4], 'i32');
  const y = await ops.rope(x, pos);
  // Feed g = rope(z): then the gradient must be z back.
  const z = Tensor.from(
    seq(2 * 3 * 4 * 6, (i) => Math.sin(i * 0.7)),
    [2, 3, 4, 6],
  );
  const g = await ops.rope(z, pos);
  await backward([y], [g]);
  const back = x.grad!.toFloat32(),
    want = z.toFloat32();
  back.forEach((v, i) => t.true(Math.abs(v - want[i]!) < 1e-5));
});

test('timestep_embedding: t = 0 gives sin 0 and cos 1; errors for bad attributes', async (t) => {
  const e = (await ops.timestepEmbedding(Tensor.from([0], [1]), { dim: 9, flipSinToCos: true })).toFloat32();
  t.deepEqual(Array.from(e), [1, 1, 1, 1, 0, 0, 0, 0, 0]);
  const tt = Tensor.from([1, 2]);
  await code(ops.runOp('timestep_embedding', [tt], {}), 'E_ARG', /timestep_embedding: attribute 'dim' is required/, t);
  await code(ops.timestepEmbedding(tt, { dim: 0 }), 'E_ARG', /'dim' must be >= 1/, t);
  await code(
    ops.timestepEmbedding(tt, { dim: 2, downscaleFreqShift: 1 }),
    'E_ARG',
    /dim\/2 - downscale_freq_shift is 0/,
    t,
  );
  await code(ops.timestepEmbedding(Tensor.zeros([2, 2]), { dim: 4 }), 'E_SHAPE', /'t' must have 1 dimensions/, t);
  await code(ops.timestepEmbedding(Tensor.zeros([2], 'bool'), { dim: 4 }), 'E_DTYPE', /'t' must be f32, i32 or i64/, t);
});

/** x rounded to the nearest bf16 (ties to even), as a number. */
function bf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0] = ((u[0]! + 0x7fff + ((u[0]! >>> 16) & 1)) >>> 16) << 16;
  return f[0]!;
}

test('rope bf16Tables: cos/sin rounded to bf16 before the rotation (a bf16 inputs_embeds in transformers), forward and backward', async (t) => {
  const [B, H, L, D] = [2, 3, 5, 6];
  const xs = seq(B * H * L * D, (i) => Math.sin(0.7 * i) * 2);
  const pos = Tensor.from([3, 0, 9, 4, 1, 2, 7, 5, 6, 11], [B, L], 'i64');
  const expected = new Float32Array(xs.length);
  for (let r = 0; r < B * H * L; r++) {
    const p = [3, 0, 9, 4, 1, 2, 7, 5, 6, 11][Math.floor(r / (H * L)) * L + (r % L)]!;
    for (let i = 0; i < D / 2; i++) {
      const a = p * Math.pow(10000, (-2 * i) / D);
      const c = bf16(Math.fround(Math.cos(a))),
        s = bf16(Math.fround(Math.sin(a)));
      const x1 = xs[r * D + i]!,
        x2 = xs[r * D + i + D / 2]!;
      expected[r * D + i] = x1 * c - x2 * s;
      expected[r * D + i + D / 2] = x2 * c + x1 * s;
    }
  }
  const x = Tensor.from(xs, [B, H, L, D]);
  x.requiresGrad = true;
  const y = await ops.rope(x, pos, 10000, true);
  const got = y.toFloat32();
  for (let i = 0; i < got.length; i++) t.true(Math.abs(got[i]! - expected[i]!) < 1e-5, `element ${i}`);
  const plain = (await ops.rope(x.detach(), pos)).toFloat32();
  t.true(
    plain.some((v, i) => Math.abs(v - expected[i]!) > 1e-4),
    'the rounding is visible',
  );
  // The backward rotates by -angle with the same tables: the adjoint of the forward.
  const g = Tensor.from(
    seq(xs.length, (i) => Math.cos(0.3 * i)),
    [B, H, L, D],
  );
  await backward(y, g);
  const gx = x.grad!.toFloat32();
  const gv = g.toFloat32();
  let lhs = 0;
  let rhs = 0;
  for (let i = 0; i < got.length; i++) lhs += got[i]! * gv[i]!;
  for (let i = 0; i < gx.length; i++) rhs += xs[i]! * gx[i]!;
  t.true(Math.abs(lhs - rhs) < 1e-3 * Math.abs(lhs), `<y, g> = ${lhs}, <x, grad> = ${rhs}`);
});
