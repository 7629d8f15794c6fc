// slice / permute / concat / split: errors, every dtype, and permutations of every rank
// against a plain JS reference (shape/* fixtures check values and gradients against PyTorch).
import test, { type ExecutionContext } from 'ava';
import { backward, ops, Tensor, type DType, type VlvErrorCode } from '../../lib/index.js';
import { expectError } from '../helpers/expect-error.js';

const code = (p: Promise<unknown>, c: VlvErrorCode, re: RegExp, t: ExecutionContext) => expectError(t, p, c, re);

const strides = (shape: number[]) => {
  const s = shape.map(() => 1);
  for (let k = shape.length - 2; k >= 0; k--) s[k] = s[k + 1]! * shape[k + 1]!;
  return s;
};

// out[j] = x[perm-mapped index]: the definition, element by element.
function permuteRef(data: ArrayLike<number | bigint>, shape: number[], dims: number[]): (number | bigint)[] {
  const outShape = dims.map((d) => shape[d]!);
  const inStride = strides(shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const out: (number | bigint)[] = [];
  const idx = outShape.map(() => 0);
  for (let j = 0; j < n; j++) {
    let off = 0;
    idx.forEach((v, k) => (off += v * inStride[dims[k]!]!));
    out.push(data[off]!);
    for (let k = idx.length - 1; k >= 0; k--) {
      if (++idx[k]! < outShape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

function makeData(dtype: DType, n: number) {
  switch (dtype) {
    case 'u8':
      return Uint8Array.from({ length: n }, (_, i) => (i * 37) & 255);
    case 'bf16':
      return Uint16Array.from({ length: n }, (_, i) => (i * 131) & 0xffff);
    case 'i32':
      return Int32Array.from({ length: n }, (_, i) => i * 3 - 7);
    default:
      return BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 1000000007n);
  }
}

test('permute matches the definition for random ranks, shapes, perms and element sizes', async (t) => {
  const r = rng(1);
  for (let trial = 0; trial < 60; trial++) {
    const rank = 1 + Math.floor(r() * 5);
    const shape = Array.from({ length: rank }, () => 1 + Math.floor(r() * (rank <= 2 ? 70 : 7)));
    const dims = [...Array(rank).keys()].sort(() => r() - 0.5);
    const dtype = (['u8', 'bf16', 'i32', 'i64'] as DType[])[trial % 4]!;
    const n = shape.reduce((a, b) => a * b, 1);
    const data = makeData(dtype, n);
    const x = Tensor.from(data, shape, dtype);
    const y = await ops.permute(x, dims);
    t.deepEqual(
      y.shape,
      dims.map((d) => shape[d]!),
    );
    t.deepEqual(
      Array.from(y.toArray() as ArrayLike<number | bigint>),
      permuteRef(data, shape, dims),
      `[${shape.join(',')}] by [${dims.join(',')}] ${dtype}`,
    );
  }
});

test('permute of a large batched transpose (tiles) and its backward', async (t) => {
  const shape = [3, 67, 130];
  const data = Float32Array.from({ length: 3 * 67 * 130 }, (_, i) => i);
  const x = Tensor.from(data, shape);
  x.requiresGrad = true;
  const y = await ops.permute(x, [0, 2, 1]);
  t.deepEqual(Array.from(y.toFloat32()), permuteRef(data, shape, [0, 2, 1]));
  await backward([y], [Tensor.from(y.toFloat32(), y.shape)]);
  t.deepEqual(Array.from(x.grad!.toFloat32()), Array.from(data));
});

test('slice, concat and split carry every dtype', async (t) => {
  for (const dtype of ['u8', 'bool', 'bf16', 'i32', 'i64', 'f64'] as DType[]) {
    const data =
      dtype === 'bool'
        ? Uint8Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? 1 : 0))
        : dtype === 'f64'
          ? Float64Array.from({ length: 24 }, (_, i) => i / 7)
          : makeData(dtype, 24);
    const x = Tensor.from(data, [2, 3, 4], dtype);
    const parts = await ops.split(x, 2, [1, 3]);
    t.deepEqual(
      parts.map((p) => p.shape),
      [
        [2, 3, 1],
        [2, 3, 3],
      ],
    );
    t.is(parts[0]!.dtype, dtype);
    const back = await ops.concat(parts, -1);
    t.deepEqual(
      Array.from(back.toArray() as ArrayLike<number | bigint>),
      Array.from(data as ArrayLike<number | bigint>),
    );
    const s = await ops.slice(x, 1, 1, 3);
    const want = permuteRef(data as ArrayLike<number | bigint>, [2, 3, 4], [0, 1, 2]).filter((_, i) => {
      const j = Math.floor(i / 4) % 3;
      return j >= 1 && j < 3;
    });
    t.deepEqual(Array.from(s.toArray() as ArrayLike<number | bigint>), want, dtype);
  }
});

test('slice on dim 0 is a view whose backward still scatters into zeros', async (t) => {
  const x = Tensor.from([1, 2, 3, 4, 5, 6], [3, 2]);
  x.requiresGrad = true;
  const y = await ops.slice(x, 0, -2, 99);
  t.deepEqual(Array.from(y.toFloat32()), [3, 4, 5, 6]);
  await backward([y], [Tensor.from([1, 1, 1, 1], [2, 2])]);
  t.deepEqual(Array.from(x.grad!.toFloat32()), [0, 0, 1, 1, 1, 1]);
});

test('errors: slice', async (t) => {
  const x = Tensor.zeros([2, 3]);
  await code(ops.slice(x, 2, 0, 1), 'E_ARG', /slice: dim 2 is out of range for a tensor of rank 2/, t);
  await code(ops.slice(Tensor.zeros([]), 0, 0, 1), 'E_SHAPE', /slice: x f32\[\] is a scalar/, t);
  await code(ops.runOp('slice', [x], { dim: 1, start: 0 }), 'E_ARG', /slice: attribute 'end' is required/, t);
  await code(ops.runOp('slice', [null], { dim: 0, start: 0, end: 1 }), 'E_ARG', /slice: argument 'x' is required/, t);
});

test('errors: permute', async (t) => {
  const x = Tensor.zeros([2, 3, 4]);
  await code(ops.permute(x, [0, 1]), 'E_ARG', /permute: dims \[0,1\] must list 3 dims for x f32\[2,3,4\]/, t);
  await code(ops.permute(x, [0, 1, 1]), 'E_ARG', /not a permutation \(dim 1 repeats\)/, t);
  await code(ops.permute(x, [0, 1, -4]), 'E_ARG', /permute: dim -4 .* out of range/, t);
});

test('errors: concat', async (t) => {
  await code(ops.concat([], 0), 'E_ARG', /concat: needs at least one tensor/, t);
  await code(
    ops.concat([Tensor.zeros([2, 3]), Tensor.zeros([2, 3], 'i32')], 0),
    'E_DTYPE',
    /concat: input 1 i32\[2,3\] has another dtype/,
    t,
  );
  await code(
    ops.concat([Tensor.zeros([2, 3]), Tensor.zeros([2, 4])], 0),
    'E_SHAPE',
    /concat: input 1 f32\[2,4\] does not fit input 0 f32\[2,3\] along dim 0/,
    t,
  );
  await code(ops.concat([Tensor.zeros([2, 3]), Tensor.zeros([2, 3, 1])], 1), 'E_SHAPE', /does not fit/, t);
  await code(ops.concat([Tensor.zeros([2, 3])], 2), 'E_ARG', /concat: dim 2 is out of range/, t);
  await code(ops.runOp('concat', [Tensor.zeros([2]), null], { dim: 0 }), 'E_ARG', /concat: input 1 is missing/, t);
});

test('errors: split', async (t) => {
  const x = Tensor.zeros([2, 5]);
  await code(ops.split(x, 1, [2, 2]), 'E_SHAPE', /split: sizes \[2,2\] sum to 4, not to 5/, t);
  await code(ops.split(x, 1, [6, -1]), 'E_ARG', /split: sizes \[6,-1\] has a negative size/, t);
  await code(ops.runOp('split', [x], { dim: 0 }), 'E_ARG', /split: attribute 'sizes' is required/, t);
});
