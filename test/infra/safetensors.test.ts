// safetensors: every crafted bad file rejects with its code and message (in-process, the
// process survives), round trips for every dtype, metadata, sharded folders, dtype
// conversion, widening of the integer types vlv lacks, misaligned data, atomic writes, and
// the golden checkpoints of ../shared/golden (byte-identical when re-saved).
import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, existsSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Tensor,
  VlvError,
  inspectSafetensors,
  loadSafetensors,
  saveSafetensors,
  type DType,
  type TensorData,
  type VlvErrorCode,
} from '../../lib/index.js';
import { native } from '../../lib/native.js';
import { goldenPath } from '../helpers/golden.js';

const badDir = join(import.meta.dirname, '..', 'fixtures', 'safetensors-bad');
const goldenDir = goldenPath();

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'vlv-st-'));
}

/** A raw safetensors file from a header object (or string) and data bytes. */
function rawFile(header: object | string, data: Buffer): Buffer {
  const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([n, h, data]);
}

function bytesOf(t: Tensor): Buffer {
  const a = t.toArray();
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

let seed = 12345;
function rand(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}

function randomTensor(dtype: DType, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const make: Record<DType, () => TensorData> = {
    f32: () => Float32Array.from({ length: n }, () => rand() * 2 - 1),
    f64: () => Float64Array.from({ length: n }, () => rand() * 2 - 1),
    bf16: () => Uint16Array.from({ length: n }, () => Math.floor(rand() * 0x7f00)),
    f16: () => Uint16Array.from({ length: n }, () => Math.floor(rand() * 0x7c00)),
    i32: () => Int32Array.from({ length: n }, () => Math.floor((rand() - 0.5) * 2 ** 31)),
    i64: () => BigInt64Array.from({ length: n }, () => BigInt(Math.floor((rand() - 0.5) * 2 ** 52)) * 1000n),
    u8: () => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256)),
    bool: () => Uint8Array.from({ length: n }, () => (rand() < 0.5 ? 1 : 0)),
  };
  return Tensor.from(make[dtype](), shape, dtype);
}

// ---- bad files ---------------------------------------------------------------------------

const manifest = JSON.parse(readFileSync(join(badDir, 'expected.json'), 'utf8')) as Record<
  string,
  { code: VlvErrorCode; message: string; what: string }
>;

test('the bad-file manifest covers every crafted file (>= 24)', (t) => {
  const files = readdirSync(badDir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort();
  t.deepEqual(files, Object.keys(manifest).sort());
  t.true(files.length >= 24);
});

for (const [file, expected] of Object.entries(manifest)) {
  test(`bad file ${file}: ${expected.what}`, async (t) => {
    const path = join(badDir, file);
    const err = await t.throwsAsync(loadSafetensors(path), { instanceOf: VlvError });
    t.is(err?.code, expected.code);
    t.true(err.message.startsWith(`${path}: `), err.message);
    t.true(err.message.includes(expected.message), `got: ${err.message}\nwant: ${expected.message}`);
    // Inspection validates the same header without mapping the data: the same error.
    const err2 = t.throws(() => inspectSafetensors(path), { instanceOf: VlvError });
    t.is(err2?.message, err.message);
  });
}

test('the process survives all bad files and still loads a good one', async (t) => {
  const dir = tempDir();
  await saveSafetensors(join(dir, 'ok.safetensors'), { w: Tensor.from([1, 2, 3]) });
  const { tensors } = await loadSafetensors(join(dir, 'ok.safetensors'));
  t.deepEqual(Array.from(tensors.w!.toArray() as Float32Array), [1, 2, 3]);
});

test('a missing file is E_FILE, a folder without weights is E_FILE', async (t) => {
  const dir = tempDir();
  const missing = await t.throwsAsync(loadSafetensors(join(dir, 'nope.safetensors')), { instanceOf: VlvError });
  t.is(missing?.code, 'E_FILE');
  t.regex(missing.message, /nope\.safetensors: no such file or directory/);
  const empty = await t.throwsAsync(loadSafetensors(dir), { instanceOf: VlvError });
  t.is(empty?.code, 'E_FILE');
  t.regex(empty.message, /has no \*\.safetensors file/);
});

// ---- round trips ------------------------------------------------------------------------

test('save -> load round trip for every dtype, bit-exact, with metadata', async (t) => {
  const dir = tempDir();
  const dtypes: DType[] = ['f32', 'f64', 'bf16', 'f16', 'i32', 'i64', 'u8', 'bool'];
  const tensors: Record<string, Tensor> = {};
  for (const d of dtypes) {
    tensors[`${d}.matrix`] = randomTensor(d, [3, 5]);
    tensors[`${d}.odd`] = randomTensor(d, [7]);
    tensors[`${d}.scalar`] = randomTensor(d, []);
    tensors[`${d}.empty`] = randomTensor(d, [0, 3]);
  }
  const metadata = { format: 'pt', 'quote"back\\slash': 'line\nbreak\ttab', unicode: 'ünï 🚀 \u0001' };
  const path = join(dir, 'all.safetensors');
  await saveSafetensors(path, tensors, metadata);
  const loaded = await loadSafetensors(path);
  t.deepEqual(loaded.metadata, metadata);
  t.deepEqual(Object.keys(loaded.tensors).sort(), Object.keys(tensors).sort());
  for (const [name, orig] of Object.entries(tensors)) {
    const got = loaded.tensors[name]!;
    t.is(got.dtype, orig.dtype, name);
    t.deepEqual(got.shape, orig.shape, name);
    t.true(bytesOf(got).equals(bytesOf(orig)), name);
  }
  // The header follows the reference layout: __metadata__ first, 8-byte padding, spans
  // ordered by element size (largest first) then name, each aligned for its type.
  const ins = inspectSafetensors(path).files[0]!;
  t.is(ins.headerBytes % 8, 0);
  t.deepEqual(ins.metadata, metadata);
  const size: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, BF16: 2, F16: 2, U8: 1, BOOL: 1 };
  for (let i = 1; i < ins.tensors.length; i++) {
    const a = ins.tensors[i - 1]!;
    const b = ins.tensors[i]!;
    t.true(size[a.dtype]! > size[b.dtype]! || (size[a.dtype] === size[b.dtype] && a.name < b.name));
  }
  for (const e of ins.tensors) t.is(e.offsets[0] % size[e.dtype]!, 0);
});

test('a file with no metadata: inspect says null, load gives {}', async (t) => {
  const path = join(tempDir(), 'plain.safetensors');
  await saveSafetensors(path, { a: Tensor.from([1]) });
  t.is(inspectSafetensors(path).files[0]!.metadata, null);
  t.deepEqual((await loadSafetensors(path)).metadata, {});
});

test('load converts floating tensors on request (bf16/f16 -> f32), leaves integers alone', async (t) => {
  const path = join(tempDir(), 'half.safetensors');
  const bf = randomTensor('bf16', [4, 9]);
  const f16 = Tensor.from(Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x0000, 0x7bff, 0x0001]), [6], 'f16');
  const ids = Tensor.from(Int32Array.from([1, 2, 3]), [3], 'i32');
  await saveSafetensors(path, { bf, f16, ids });
  const { tensors } = await loadSafetensors(path, { dtype: 'f32' });
  t.is(tensors.bf!.dtype, 'f32');
  t.is(tensors.ids!.dtype, 'i32');
  const bits = bf.toArray() as Uint16Array;
  const want = new Float32Array(new Uint32Array(Array.from(bits, (b) => b << 16)).buffer);
  t.deepEqual(Array.from(tensors.bf!.toArray() as Float32Array), Array.from(want));
  t.deepEqual(Array.from(tensors.f16!.toArray() as Float32Array), [1, -2, 0.5, 0, 65504, 2 ** -24]);
});

test('names selects tensors; an unknown name is E_ARG', async (t) => {
  const path = join(tempDir(), 'sel.safetensors');
  await saveSafetensors(path, { a: Tensor.from([1]), b: Tensor.from([2]), c: Tensor.from([3]) });
  const { tensors } = await loadSafetensors(path, { names: ['c', 'a'] });
  t.deepEqual(Object.keys(tensors).sort(), ['a', 'c']);
  const err = await t.throwsAsync(loadSafetensors(path, { names: ['a', 'zz'] }), { instanceOf: VlvError });
  t.is(err?.code, 'E_ARG');
  t.regex(err.message, /no tensor named 'zz'/);
});

test('integer types vlv lacks widen losslessly: I8/I16/U16 -> i32, U32/U64 -> i64', async (t) => {
  const dir = tempDir();
  const data = Buffer.alloc(2 + 4 + 4 + 8 + 16);
  data.writeInt8(-5, 0);
  data.writeInt8(7, 1);
  data.writeInt16LE(-30000, 2);
  data.writeInt16LE(1234, 4);
  data.writeUInt16LE(65535, 6);
  data.writeUInt16LE(3, 8);
  data.writeUInt32LE(4000000000, 10);
  data.writeUInt32LE(1, 14);
  data.writeBigUInt64LE(2n ** 62n, 18);
  data.writeBigUInt64LE(9n, 26);
  const header = {
    i8: { dtype: 'I8', shape: [2], data_offsets: [0, 2] },
    i16: { dtype: 'I16', shape: [2], data_offsets: [2, 6] },
    u16: { dtype: 'U16', shape: [2], data_offsets: [6, 10] },
    u32: { dtype: 'U32', shape: [2], data_offsets: [10, 18] },
    u64: { dtype: 'U64', shape: [2], data_offsets: [18, 34] },
  };
  const path = join(dir, 'ints.safetensors');
  writeFileSync(path, rawFile(header, data));
  const { tensors } = await loadSafetensors(path);
  t.deepEqual(Array.from(tensors.i8!.toArray() as Int32Array), [-5, 7]);
  t.deepEqual(Array.from(tensors.i16!.toArray() as Int32Array), [-30000, 1234]);
  t.deepEqual(Array.from(tensors.u16!.toArray() as Int32Array), [65535, 3]);
  t.deepEqual(Array.from(tensors.u32!.toArray() as BigInt64Array), [4000000000n, 1n]);
  t.deepEqual(Array.from(tensors.u64!.toArray() as BigInt64Array), [2n ** 62n, 9n]);
  t.is(inspectSafetensors(path).files[0]!.tensors.find((e) => e.name === 'u64')?.dtype, 'U64');

  const big = Buffer.alloc(8);
  big.writeBigUInt64LE(2n ** 63n);
  const bigPath = join(dir, 'u64big.safetensors');
  writeFileSync(bigPath, rawFile({ x: { dtype: 'U64', shape: [1], data_offsets: [0, 8] } }, big));
  const err = await t.throwsAsync(loadSafetensors(bigPath), { instanceOf: VlvError });
  t.is(err?.code, 'E_DTYPE');
  t.regex(err.message, /tensor 'x': U64 value 9223372036854775808 at index 0 does not fit i64/);
});

test('misaligned data is copied (correct values); aligned data is mapped, not copied', async (t) => {
  const dir = tempDir();
  const values = Float32Array.from({ length: 4096 }, (_, i) => i * 0.25 - 3);
  const data = Buffer.from(values.buffer);
  // A 1-byte-odd header length puts the data section at an odd offset.
  let header = JSON.stringify({ w: { dtype: 'F32', shape: [4096], data_offsets: [0, data.length] } });
  if ((8 + header.length) % 4 === 0) header += ' ';
  const odd = join(dir, 'odd.safetensors');
  writeFileSync(odd, rawFile(header, data));
  const before = native.info().cpuBytesInUse;
  const a = (await loadSafetensors(odd)).tensors.w!;
  t.true(native.info().cpuBytesInUse - before >= data.length, 'a misaligned tensor is a copy');
  t.deepEqual(Array.from(a.toArray() as Float32Array), Array.from(values));

  const aligned = join(dir, 'aligned.safetensors');
  await saveSafetensors(aligned, { w: Tensor.from(values) });
  const before2 = native.info().cpuBytesInUse;
  const b = (await loadSafetensors(aligned)).tensors.w!;
  t.true(native.info().cpuBytesInUse - before2 < data.length, 'an aligned tensor is a view of the mapping');
  t.deepEqual(Array.from(b.toArray() as Float32Array), Array.from(values));
});

// ---- sharded checkpoints and folders ----------------------------------------------------------

async function writeShards(dir: string): Promise<Record<string, Tensor>> {
  const all: Record<string, Tensor> = {
    'layer.0.weight': randomTensor('f32', [4, 3]),
    'layer.0.bias': randomTensor('f32', [4]),
    'layer.1.weight': randomTensor('bf16', [2, 4]),
    'layer.1.bias': randomTensor('bf16', [2]),
  };
  await saveSafetensors(
    join(dir, 'model-00001-of-00002.safetensors'),
    { 'layer.0.weight': all['layer.0.weight']!, 'layer.0.bias': all['layer.0.bias']! },
    { format: 'pt' },
  );
  await saveSafetensors(
    join(dir, 'model-00002-of-00002.safetensors'),
    { 'layer.1.weight': all['layer.1.weight']!, 'layer.1.bias': all['layer.1.bias']! },
    { format: 'pt' },
  );
  const index = {
    metadata: { total_size: 80 },
    weight_map: {
      'layer.0.weight': 'model-00001-of-00002.safetensors',
      'layer.0.bias': 'model-00001-of-00002.safetensors',
      'layer.1.weight': 'model-00002-of-00002.safetensors',
      'layer.1.bias': 'model-00002-of-00002.safetensors',
    },
  };
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index, null, 2));
  return all;
}

test('a sharded folder loads through its index (folder or index path)', async (t) => {
  const dir = tempDir();
  const all = await writeShards(dir);
  for (const target of [dir, join(dir, 'model.safetensors.index.json')]) {
    const { tensors, metadata } = await loadSafetensors(target);
    t.deepEqual(metadata, { format: 'pt' });
    t.deepEqual(Object.keys(tensors).sort(), Object.keys(all).sort());
    for (const [name, orig] of Object.entries(all)) t.true(bytesOf(tensors[name]!).equals(bytesOf(orig)), name);
  }
  const ins = inspectSafetensors(dir);
  t.is(ins.index, join(dir, 'model.safetensors.index.json'));
  t.is(ins.files.length, 2);
  const { tensors } = await loadSafetensors(dir, { names: ['layer.1.bias'], dtype: 'f32' });
  t.deepEqual(Object.keys(tensors), ['layer.1.bias']);
  t.is(tensors['layer.1.bias']!.dtype, 'f32');
});

test('index faults: a tensor missing from its shard, an unlisted tensor, a path outside, a missing shard', async (t) => {
  const cases: Array<[string, (wm: Record<string, string>) => void, VlvErrorCode, RegExp]> = [
    [
      'missing',
      (wm) => {
        wm['layer.9.weight'] = 'model-00001-of-00002.safetensors';
      },
      'E_FILE_FORMAT',
      /tensor 'layer\.9\.weight' is missing from its shard '.*model-00001-of-00002\.safetensors'/,
    ],
    [
      'unlisted',
      (wm) => {
        delete wm['layer.0.bias'];
      },
      'E_FILE_FORMAT',
      /holds tensor 'layer\.0\.bias', which the weight_map does not list/,
    ],
    [
      'moved',
      (wm) => {
        wm['layer.0.bias'] = 'model-00002-of-00002.safetensors';
      },
      'E_FILE_FORMAT',
      /holds tensor 'layer\.0\.bias', which the weight_map puts in/,
    ],
    [
      'outside',
      (wm) => {
        wm['layer.0.bias'] = '../model-00001-of-00002.safetensors';
      },
      'E_FILE_FORMAT',
      /not a file inside the index's folder/,
    ],
    [
      'absent',
      (wm) => {
        wm['layer.2.bias'] = 'model-00003-of-00002.safetensors';
      },
      'E_FILE',
      /model-00003-of-00002\.safetensors: cannot open/,
    ],
  ];
  for (const [label, edit, code, re] of cases) {
    const dir = tempDir();
    await writeShards(dir);
    const indexPath = join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map: Record<string, string> };
    edit(index.weight_map);
    writeFileSync(indexPath, JSON.stringify(index));
    const err = await t.throwsAsync(loadSafetensors(dir), { instanceOf: VlvError }, label);
    t.is(err?.code, code, label);
    t.regex(err.message, re, label);
  }
  const dir = tempDir();
  writeFileSync(join(dir, 'model.safetensors.index.json'), '{"weight_map": {"a": 1}}');
  const err = await t.throwsAsync(loadSafetensors(dir), { instanceOf: VlvError });
  t.is(err?.code, 'E_FILE_FORMAT');
  t.regex(err.message, /weight_map\['a'\] must be a file name, got a number/);
});

test('a folder: model.safetensors wins; a single file is used; several without an index is E_FILE', async (t) => {
  const dir = tempDir();
  await saveSafetensors(join(dir, 'other.safetensors'), { x: Tensor.from([1]) });
  t.deepEqual(Object.keys((await loadSafetensors(dir)).tensors), ['x']);
  await saveSafetensors(join(dir, 'extra.safetensors'), { y: Tensor.from([2]) });
  const err = await t.throwsAsync(loadSafetensors(dir), { instanceOf: VlvError });
  t.is(err?.code, 'E_FILE');
  t.regex(err.message, /has 2 \*\.safetensors files and no index/);
  await saveSafetensors(join(dir, 'model.safetensors'), { z: Tensor.from([3]) });
  t.deepEqual(Object.keys((await loadSafetensors(dir)).tensors), ['z']);
});

// ---- atomic writes ---------------------------------------------------------------------------

test('save is atomic: no temporary file left, overwrite replaces, a failed write is E_FILE', async (t) => {
  const dir = tempDir();
  const path = join(dir, 'ckpt.safetensors');
  await saveSafetensors(path, { a: Tensor.from([1, 2]) });
  await saveSafetensors(path, { b: Tensor.from([3, 4, 5]) });
  t.deepEqual(readdirSync(dir), ['ckpt.safetensors']);
  t.deepEqual(Object.keys((await loadSafetensors(path)).tensors), ['b']);

  const err = await t.throwsAsync(saveSafetensors(join(dir, 'missing', 'x.safetensors'), { a: Tensor.from([1]) }), {
    instanceOf: VlvError,
  });
  t.is(err?.code, 'E_FILE');
  t.regex(err.message, /missing\/x\.safetensors: cannot create a temporary file beside it: No such file or directory/);

  mkdirSync(join(dir, 'adir.safetensors'));
  const err2 = await t.throwsAsync(saveSafetensors(join(dir, 'adir.safetensors'), { a: Tensor.from([1]) }), {
    instanceOf: VlvError,
  });
  t.is(err2?.code, 'E_FILE');
  t.regex(err2.message, /cannot rename the temporary file over it/);
  t.deepEqual(readdirSync(dir).sort(), ['adir.safetensors', 'ckpt.safetensors']);
});

test('save rejects bad arguments with E_ARG / E_DISPOSED', async (t) => {
  const dir = tempDir();
  const e1 = await t.throwsAsync(saveSafetensors(join(dir, 'a.safetensors'), { __metadata__: Tensor.from([1]) }));
  t.is((e1 as VlvError).code, 'E_ARG');
  const e2 = await t.throwsAsync(
    saveSafetensors(join(dir, 'a.safetensors'), { a: Tensor.from([1]) }, { n: 1 } as unknown as Record<string, string>),
  );
  t.is((e2 as VlvError).code, 'E_ARG');
  t.regex(e2.message, /metadata\['n'\] must be a string/);
  const gone = Tensor.from([1]);
  gone.dispose();
  const e3 = await t.throwsAsync(saveSafetensors(join(dir, 'a.safetensors'), { a: gone }));
  t.is((e3 as VlvError).code, 'E_DISPOSED');
  t.deepEqual(readdirSync(dir), []);
});

// ---- goldens --------------------------------------------------------------------------------

function findSafetensors(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findSafetensors(p));
    else if (name.endsWith('.safetensors')) out.push(p);
  }
  return out;
}

test('every golden safetensors file loads, matches its raw bytes, and re-saves byte-identically', async (t) => {
  t.true(existsSync(goldenDir), `the golden folder ${goldenDir} must exist`);
  const files = findSafetensors(goldenDir);
  t.true(
    files.some((f) => f.endsWith('/model.safetensors')),
    'no golden model.safetensors found',
  );
  const out = tempDir();
  for (const file of files) {
    const raw = readFileSync(file);
    const ins = inspectSafetensors(file).files[0]!;
    t.is(ins.fileBytes, raw.length);
    const { tensors, metadata } = await loadSafetensors(file);
    t.is(Object.keys(tensors).length, ins.tensors.length, file);
    const dataStart = 8 + ins.headerBytes;
    for (const e of ins.tensors) {
      const got = tensors[e.name]!;
      t.deepEqual(got.shape, e.shape, `${file}: ${e.name}`);
      const want = raw.subarray(dataStart + e.offsets[0], dataStart + e.offsets[1]);
      if (!bytesOf(got).equals(want)) t.fail(`${file}: ${e.name} differs from the file bytes`);
    }
    // Saving what we loaded gives the same tensors; for the weight files, which the
    // reference writer made (save_pretrained; the README says so), the very same bytes.
    const copy = join(out, 'copy.safetensors');
    await saveSafetensors(copy, tensors, metadata);
    if (/\/(model|diffusion_pytorch_model)\.safetensors$/.test(file))
      t.true(readFileSync(copy).equals(raw), `${file}: re-saved bytes differ`);
    const again = await loadSafetensors(copy);
    for (const [name, x] of Object.entries(tensors))
      if (!bytesOf(again.tensors[name]!).equals(bytesOf(x))) t.fail(`${file}: ${name} changed in a save/load`);
  }
});

// ---- header JSON details and robustness --------------------------------------------------------

test('header JSON: escapes and surrogate pairs decode, whitespace around the object is allowed', async (t) => {
  const path = join(tempDir(), 'esc.safetensors');
  const header =
    ' \n{ "a\\u00e9\\ud83d\\ude80\\n\\"\\/" : { "dtype" : "U8", "shape" : [ 2 ], "data_offsets" : [ 0, 2 ] } }\t\r\n ';
  writeFileSync(path, rawFile(header, Buffer.from([7, 9])));
  const { tensors } = await loadSafetensors(path);
  t.deepEqual(Object.keys(tensors), ['aé🚀\n"/']);
  t.deepEqual(Array.from(tensors['aé🚀\n"/']!.toArray() as Uint8Array), [7, 9]);
  // And the writer escapes what it must: the name survives a save/load.
  const copy = join(tempDir(), 'copy.safetensors');
  await saveSafetensors(copy, { 'q"\\\u0001\t🚀': Tensor.from([1]) });
  t.deepEqual(Object.keys((await loadSafetensors(copy)).tensors), ['q"\\\u0001\t🚀']);
});

test('randomly corrupted headers never crash: each load either succeeds or is a VlvError', async (t) => {
  const path = join(tempDir(), 'base.safetensors');
  await saveSafetensors(path, { a: Tensor.from([1, 2, 3]), b: Tensor.from(Int32Array.from([4, 5])) }, { k: 'v' });
  const base = readFileSync(path);
  const headerEnd = 8 + Number(base.readBigUInt64LE(0));
  const dir = tempDir();
  let rejected = 0;
  for (let i = 0; i < 300; i++) {
    const bytes = Buffer.from(base);
    const flips = 1 + Math.floor(rand() * 3);
    for (let k = 0; k < flips; k++) bytes[Math.floor(rand() * headerEnd)] = Math.floor(rand() * 256);
    const cut = rand() < 0.2 ? Math.floor(rand() * bytes.length) : bytes.length;
    const p = join(dir, `m${i}.safetensors`);
    writeFileSync(p, bytes.subarray(0, cut));
    try {
      await loadSafetensors(p);
    } catch (e) {
      if (!(e instanceof VlvError) || !['E_FILE_FORMAT', 'E_DTYPE'].includes(e.code)) t.fail(`m${i}: ${String(e)}`);
      rejected++;
    }
  }
  t.true(rejected > 200, `${rejected} of 300 corruptions rejected`);
});
