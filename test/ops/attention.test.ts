// ops.attention beyond the fixtures: argument errors, thread-count independence, a long
// sequence against a float64 JS reference, and lengths around the 64-query / 128-key tiles.
import test from 'ava';
import { backward, info, ops, setNumThreads, Tensor } from '../../lib/index.js';

function rand(shape: number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 2;
  }
  return out;
}

interface Problem {
  b: number;
  hq: number;
  hkv: number;
  lq: number;
  lk: number;
  d: number;
  dv: number;
  causal: boolean;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  gout: Float32Array;
}

function problem(
  b: number,
  hq: number,
  hkv: number,
  lq: number,
  lk: number,
  d: number,
  causal = false,
  seed = 1,
): Problem {
  const dv = d;
  return {
    b,
    hq,
    hkv,
    lq,
    lk,
    d,
    dv,
    causal,
    q: rand([b, hq, lq, d], seed),
    k: rand([b, hkv, lk, d], seed + 1),
    v: rand([b, hkv, lk, dv], seed + 2),
    gout: rand([b, hq, lq, dv], seed + 3),
  };
}

/** Float64 reference of one query row: out, lse, and that row's softmax weights. */
function refRow(p: Problem, b: number, h: number, i: number) {
  const kv = b * p.hkv + Math.floor(h / (p.hq / p.hkv));
  const qo = ((b * p.hq + h) * p.lq + i) * p.d;
  const scale = 1 / Math.sqrt(p.d);
  const s = new Float64Array(p.lk).fill(-Infinity);
  for (let j = 0; j < p.lk; j++) {
    if (p.causal && j > i + p.lk - p.lq) continue;
    let dot = 0;
    for (let c = 0; c < p.d; c++) dot += p.q[qo + c]! * p.k[(kv * p.lk + j) * p.d + c]!;
    s[j] = dot * scale;
  }
  const m = Math.max(...s);
  const out = new Float64Array(p.dv);
  if (m === -Infinity) return { out, lse: -Infinity, prob: new Float64Array(p.lk), kv, scale };
  let sum = 0;
  for (let j = 0; j < p.lk; j++) sum += Math.exp(s[j]! - m);
  const prob = s.map((x) => Math.exp(x - m) / sum);
  for (let j = 0; j < p.lk; j++)
    for (let c = 0; c < p.dv; c++) out[c] = out[c]! + prob[j]! * p.v[(kv * p.lk + j) * p.dv + c]!;
  return { out, lse: m + Math.log(sum), prob, kv, scale };
}

/** Float64 reference gradients of the whole problem (small sizes only). */
function refGrads(p: Problem) {
  const dq = new Float64Array(p.q.length),
    dk = new Float64Array(p.k.length),
    dv = new Float64Array(p.v.length);
  for (let b = 0; b < p.b; b++)
    for (let h = 0; h < p.hq; h++)
      for (let i = 0; i < p.lq; i++) {
        const { out, prob, kv, scale } = refRow(p, b, h, i);
        const go = ((b * p.hq + h) * p.lq + i) * p.dv;
        let di = 0;
        for (let c = 0; c < p.dv; c++) di += p.gout[go + c]! * out[c]!;
        for (let j = 0; j < p.lk; j++) {
          if (prob[j] === 0) continue;
          let dp = 0;
          for (let c = 0; c < p.dv; c++) {
            dp += p.gout[go + c]! * p.v[(kv * p.lk + j) * p.dv + c]!;
            dv[(kv * p.lk + j) * p.dv + c] = dv[(kv * p.lk + j) * p.dv + c]! + prob[j]! * p.gout[go + c]!;
          }
          const ds = prob[j]! * (dp - di) * scale;
          const qo = ((b * p.hq + h) * p.lq + i) * p.d,
            ko = (kv * p.lk + j) * p.d;
          for (let c = 0; c < p.d; c++) {
            dq[qo + c] = dq[qo + c]! + ds * p.k[ko + c]!;
            dk[ko + c] = dk[ko + c]! + ds * p.q[qo + c]!;
          }
        }
      }
  return { dq, dk, dv };
}

/** ||a - e|| / max(||e||, 1). */
function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < expected.length; i++) {
    num += (actual[i]! - expected[i]!) ** 2;
    den += expected[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1)); // absolute below norm 1 (e.g. dq = 0 with one key)
}

/** Runs forward and backward; returns every result as f32 arrays. */
async function run(p: Problem, mask?: Tensor) {
  const q = Tensor.from(p.q, [p.b, p.hq, p.lq, p.d]);
  const k = Tensor.from(p.k, [p.b, p.hkv, p.lk, p.d]);
  const v = Tensor.from(p.v, [p.b, p.hkv, p.lk, p.dv]);
  const gout = Tensor.from(p.gout, [p.b, p.hq, p.lq, p.dv]);
  for (const t of [q, k, v]) t.requiresGrad = true;
  const { out, lse } = await ops.attention(q, k, v, { causal: p.causal, mask });
  await backward(out, gout);
  const res = {
    out: out.toFloat32(),
    lse: lse.toFloat32(),
    dq: q.grad!.toFloat32(),
    dk: k.grad!.toFloat32(),
    dv: v.grad!.toFloat32(),
  };
  for (const t of [q, k, v, gout, out, lse]) t.dispose();
  return res;
}

const f32 = (shape: number[], dtype: 'f32' | 'f64' = 'f32') => Tensor.zeros(shape, dtype);

test('shape, rank, head-ratio and dtype errors name the op and the argument', async (t) => {
  const q = f32([1, 4, 5, 8]),
    k = f32([1, 2, 7, 8]),
    v = f32([1, 2, 7, 8]);
  const bad = async (args: [Tensor, Tensor, Tensor], opts: ops.AttentionOptions, code: string, msg: RegExp) => {
    const e = await t.throwsAsync(ops.attention(...args, opts));
    t.is((e as Error & { code: string }).code, code, e?.message);
    t.regex(e.message, msg);
  };
  await bad([f32([4, 5, 8]), k, v], {}, 'E_SHAPE', /attention: 'q' must have 4 dimensions/);
  await bad([q, f32([1, 2, 7]), v], {}, 'E_SHAPE', /attention: 'k' must have 4 dimensions/);
  await bad([q, f32([1, 2, 7, 6]), v], {}, 'E_SHAPE', /head dims differ/);
  await bad([q, k, f32([1, 2, 6, 8])], {}, 'E_SHAPE', /differ in heads or length/);
  await bad([q, f32([2, 2, 7, 8]), f32([2, 2, 7, 8])], {}, 'E_SHAPE', /batch sizes differ/);
  await bad([f32([1, 3, 5, 8]), k, v], {}, 'E_SHAPE', /query heads \(3\) must be a multiple of kv heads \(2\)/);
  await bad(
    [q, k, v],
    { mask: f32([1, 1, 1, 6]) },
    'E_SHAPE',
    /mask f32\[1,1,1,6\] is not broadcastable to \[1,4,5,7\]/,
  );
  await bad([q, k, v], { mask: f32([2, 1, 5, 7]) }, 'E_SHAPE', /not broadcastable/);
  await bad([q, k, v], { mask: f32([1, 1, 1, 5, 7]) }, 'E_SHAPE', /not broadcastable/);
  await bad([f32([1, 4, 5, 8], 'f64'), k, v], {}, 'E_DTYPE', /attention/);
  await bad([q, k, f32([1, 2, 7, 8], 'f64')], {}, 'E_DTYPE', /attention/);
  await bad([q, k, v], { mask: Tensor.zeros([7], 'i32') }, 'E_DTYPE', /attention: mask must be bool or f32/);
  for (const x of [q, k, v]) x.dispose();
});

test.serial('results do not depend on the thread count (bitwise)', async (t) => {
  const before = info().threads;
  // One kv head and 300 keys: the backward splits the keys into chunks with partial dQ.
  const p = problem(1, 2, 1, 150, 300, 24, true, 11);
  const mask = Tensor.from(rand([150, 300], 5), [150, 300]);
  try {
    setNumThreads(1);
    const one = await run(p, mask);
    setNumThreads(2);
    const two = await run(p, mask);
    for (const key of ['out', 'lse', 'dq', 'dk', 'dv'] as const) t.deepEqual(one[key], two[key], key);
  } finally {
    setNumThreads(before);
    mask.dispose();
  }
});

test('a 1024-long sequence with head dim 64 matches a float64 reference on sampled rows', async (t) => {
  for (const causal of [false, true]) {
    const p = problem(1, 2, 2, 1024, 1024, 64, causal, 21);
    const q = Tensor.from(p.q, [1, 2, 1024, 64]),
      k = Tensor.from(p.k, [1, 2, 1024, 64]),
      v = Tensor.from(p.v, [1, 2, 1024, 64]);
    const { out, lse } = await ops.attention(q, k, v, { causal });
    const o = out.toFloat32(),
      l = lse.toFloat32();
    for (const [h, i] of [
      [0, 0],
      [0, 63],
      [1, 64],
      [1, 511],
      [0, 1000],
      [1, 1023],
    ] as const) {
      const r = refRow(p, 0, h, i);
      const row = o.subarray((h * 1024 + i) * 64, (h * 1024 + i + 1) * 64);
      t.true(relErr(row, r.out) < 1e-5, `causal ${causal} row ${h}/${i}: ${relErr(row, r.out)}`);
      t.true(Math.abs(l[h * 1024 + i]! - r.lse) < 1e-5 * Math.max(1, Math.abs(r.lse)), `lse ${h}/${i}`);
    }
    for (const x of [q, k, v, out, lse]) x.dispose();
  }
});

test('lengths around the tile sizes give the reference forward and gradients', async (t) => {
  for (const len of [1, 63, 64, 65, 129]) {
    for (const [lq, causal] of [
      [len, false],
      [len, true],
      [Math.max(1, len - 60), true],
    ] as const) {
      const p = problem(1, 2, 1, lq, len, 16, causal, len * 7 + lq);
      const got = await run(p);
      const outRef = new Float64Array(got.out.length),
        lseRef = new Float64Array(got.lse.length);
      for (let h = 0; h < 2; h++)
        for (let i = 0; i < lq; i++) {
          const r = refRow(p, 0, h, i);
          outRef.set(r.out, (h * lq + i) * p.dv);
          lseRef[h * lq + i] = r.lse;
        }
      const g = refGrads(p);
      const what = `Lq ${lq} Lk ${len} causal ${causal}`;
      t.true(relErr(got.out, outRef) < 2e-6, `${what} out ${relErr(got.out, outRef)}`);
      t.true(relErr(got.lse, lseRef) < 2e-6, `${what} lse`);
      t.true(relErr(got.dq, g.dq) < 5e-6, `${what} dq ${relErr(got.dq, g.dq)}`);
      t.true(relErr(got.dk, g.dk) < 5e-6, `${what} dk ${relErr(got.dk, g.dk)}`);
      t.true(relErr(got.dv, g.dv) < 5e-6, `${what} dv ${relErr(got.dv, g.dv)}`);
    }
  }
});

test('a row that sees no key gives out = 0, lse = -inf and no NaN in the gradients', async (t) => {
  const p = problem(1, 1, 1, 4, 6, 8, false, 3);
  const keep = new Uint8Array(4 * 6).fill(1);
  keep.fill(0, 6, 12); // row 1 sees nothing
  const mask = Tensor.from(keep, [4, 6], 'bool');
  const got = await run(p, mask);
  t.deepEqual([...got.out.subarray(8, 16)], new Array(8).fill(0));
  t.is(got.lse[1], -Infinity);
  t.true(Number.isFinite(got.lse[0]!));
  for (const g of [got.dq, got.dk, got.dv]) t.true(g.every(Number.isFinite));
  t.deepEqual([...got.dq.subarray(8, 16)], new Array(8).fill(0));
  mask.dispose();
});

test('empty lengths: no keys gives out = 0 and lse = -inf; no queries gives empty outputs', async (t) => {
  const q = Tensor.from(rand([1, 2, 3, 8], 1), [1, 2, 3, 8]);
  const none = Tensor.zeros([1, 1, 0, 8]);
  const a = await ops.attention(q, none, none, { causal: true });
  t.deepEqual(a.out.shape, [1, 2, 3, 8]);
  t.true(a.out.toFloat32().every((x) => x === 0));
  t.true(a.lse.toFloat32().every((x) => x === -Infinity));
  const k = Tensor.from(rand([1, 1, 5, 8], 2), [1, 1, 5, 8]);
  const b = await ops.attention(Tensor.zeros([1, 2, 0, 8]), k, k);
  t.deepEqual(b.out.shape, [1, 2, 0, 8]);
  t.deepEqual(b.lse.shape, [1, 2, 0]);
  for (const x of [q, none, k, a.out, a.lse, b.out, b.lse]) x.dispose();
});
