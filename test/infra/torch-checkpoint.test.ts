// The weights-only torch.save reader (csrc/io/torch_checkpoint.h): checkpoints PyTorch wrote
// (test/fixtures/torch-checkpoint/, scripts/fixtures/gen_torch_checkpoint.py) against the same
// tensors as safetensors; the golden VLV captioner against torch.load's own values; loading
// models from a folder holding pytorch_model.bin; and hostile checkpoints crafted here byte by
// byte (test/helpers/torch-zip.ts), each refused with E_FILE_FORMAT naming the fault, none of
// their payloads ever run.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Tensor,
  VlvError,
  inspectTorchCheckpoint,
  loadSafetensors,
  readTorchCheckpoint,
  type DType,
  type TensorData,
} from '../../lib/index.js';
import { native } from '../../lib/native.js';
import { goldenPath } from '../helpers/golden.js';
import {
  Pickle,
  stateDictPickle,
  torchArchive,
  torchCheckpoint,
  unzip,
  zip,
  type TensorSpec,
} from '../helpers/torch-zip.js';

const root = join(import.meta.dirname, '..', '..');
const fixtures = join(root, 'test', 'fixtures', 'torch-checkpoint');
const captioner = goldenPath('vlv_caption', 'model.pt');

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'vlv-pt-'));
}

function bytesOf(t: Tensor): Buffer {
  const a = t.toArray();
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function f32(values: number[]): Buffer {
  return Buffer.from(new Float32Array(values).buffer);
}

// ---- checkpoints PyTorch wrote ---------------------------------------------------------

for (const [pt, st] of [
  ['state.pt', 'state.safetensors'],
  ['lightning.ckpt', 'lightning.safetensors'],
] as const) {
  test(`${pt}: every tensor equals the safetensors copy PyTorch wrote (dtype, shape, bits)`, async (t) => {
    const got = await readTorchCheckpoint(join(fixtures, pt));
    const want = await loadSafetensors(join(fixtures, st));
    t.deepEqual(Object.keys(got.tensors).sort(), Object.keys(want.tensors).sort());
    for (const [name, w] of Object.entries(want.tensors)) {
      const g = got.tensors[name]!;
      t.is(g.dtype, w.dtype, name);
      t.deepEqual(g.shape, w.shape, name);
      t.true(bytesOf(g).equals(bytesOf(w)), `${name}: values differ`);
    }
  });
}

test('state.pt: names in order, views described, the tie found, dtypes kept', async (t) => {
  const info = inspectTorchCheckpoint(join(fixtures, 'state.pt'));
  const by = Object.fromEntries(info.tensors.map((e) => [e.name, e]));
  t.deepEqual(
    info.tensors.slice(0, 5).map((e) => e.name),
    ['0.weight', '0.bias', '1.weight', '1.bias', 'f32'],
  );
  t.like(by.transposed, { dtype: 'F32', shape: [6, 4], stride: [1, 6], storageOffset: 0, aliasOf: null });
  t.like(by.slice2d, { shape: [4, 2], stride: [4, 1], storageOffset: 13, storageBytes: 160 });
  t.like(by.rows, { shape: [3, 4], stride: [4, 1], storageOffset: 8 });
  t.like(by.expanded, { shape: [3, 4], stride: [1, 0] });
  t.like(by.scalar, { shape: [], stride: [] });
  t.like(by.empty, { shape: [0, 3] });
  t.like(by['lm_head.weight'], { aliasOf: 'embed.weight' });
  t.is(by['embed.weight']!.aliasOf, null);
  t.deepEqual(
    ['bf16', 'f16', 'f64', 'i64', 'i32', 'i16', 'i8', 'u8', 'bool'].map((n) => by[n]!.dtype),
    ['BF16', 'F16', 'F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'],
  );
  const loaded = await readTorchCheckpoint(join(fixtures, 'state.pt'));
  t.deepEqual(loaded.aliases, { 'lm_head.weight': 'embed.weight' });
  const dtypes = Object.fromEntries(Object.entries(loaded.tensors).map(([n, x]) => [n, x.dtype]));
  t.like(dtypes, { bf16: 'bf16', f16: 'f16', f64: 'f64', i64: 'i64', i16: 'i32', i8: 'i32', u8: 'u8', bool: 'bool' });
  t.deepEqual(Array.from(loaded.tensors.i16!.toArray() as Int32Array), [-32768, 32767, -1, 0]);
  t.deepEqual(Array.from(loaded.tensors.i8!.toArray() as Int32Array), [-128, 127, -1, 5]);
});

test('the golden VLV captioner (model.pt): names, dtypes, shapes and ties as torch.load sees them', (t) => {
  const spot = JSON.parse(readFileSync(join(fixtures, 'vlv_caption_spot.json'), 'utf8')) as {
    names: [string, string, number[]][];
    ties: Record<string, string>;
  };
  const info = inspectTorchCheckpoint(captioner);
  t.is(info.tensors.length, 245);
  t.deepEqual(
    info.tensors.map((e) => [e.name, e.dtype, e.shape]),
    spot.names.map(([n, d, s]) => [n, d === 'float32' ? 'F32' : d, s]),
  );
  const ties = Object.fromEntries(info.tensors.filter((e) => e.aliasOf).map((e) => [e.name, e.aliasOf]));
  t.deepEqual(ties, spot.ties);
  t.is(ties['qwen2_model.lm_head.weight'], 'qwen2_model.model.embed_tokens.weight');
  for (const n of ['encoder', 'decoder'])
    t.is(
      ties[`VLV_model.model.language_model.model.${n}.embed_tokens.weight`],
      'VLV_model.model.language_model.model.shared.weight',
    );
  t.is(info.fileBytes, 1239211);
});

test('the golden VLV captioner: values match torch.load (first, last, float64 sum)', async (t) => {
  const spot = JSON.parse(readFileSync(join(fixtures, 'vlv_caption_spot.json'), 'utf8')) as {
    spot: Record<string, { first: number[]; last: number; sum: number }>;
  };
  const { tensors, aliases } = await readTorchCheckpoint(captioner);
  t.is(Object.keys(tensors).length, 245);
  t.is(Object.keys(aliases).length, 3);
  for (const [name, want] of Object.entries(spot.spot)) {
    const v = tensors[name]!.toArray() as Float32Array;
    t.deepEqual(Array.from(v.slice(0, 4)), want.first, name);
    t.is(v[v.length - 1], want.last, name);
    let sum = 0;
    for (const x of v) sum += x;
    t.true(Math.abs(sum - want.sum) <= 1e-9 * Math.max(1, Math.abs(want.sum)), `${name}: sum ${sum} vs ${want.sum}`);
  }
  // The tied pair: equal tensors (each name gets its own handle).
  t.true(
    bytesOf(tensors['qwen2_model.lm_head.weight']!).equals(bytesOf(tensors['qwen2_model.model.embed_tokens.weight']!)),
  );
});

test('a checkpoint written here (every dtype, odd sizes) reads back bit-exact', async (t) => {
  const dir = tempDir();
  const specs: Record<string, { dtype: DType; shape: number[]; data: Tensor }> = {};
  const values: Record<DType, (n: number) => TensorData> = {
    f32: (n) => Float32Array.from({ length: n }, (_, i) => i * 0.25 - 3),
    f64: (n) => Float64Array.from({ length: n }, (_, i) => i / 7),
    bf16: (n) => Uint16Array.from({ length: n }, (_, i) => 0x3f80 + i),
    f16: (n) => Uint16Array.from({ length: n }, (_, i) => 0x3c00 + i),
    i32: (n) => Int32Array.from({ length: n }, (_, i) => i * 1000003 - 5),
    i64: (n) => BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 10000000000n - 7n),
    u8: (n) => Uint8Array.from({ length: n }, (_, i) => (i * 37) % 256),
    bool: (n) => Uint8Array.from({ length: n }, (_, i) => i % 2),
  };
  const input: Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }> = {};
  for (const [dtype, make] of Object.entries(values) as [DType, (n: number) => TensorData][]) {
    const shape = [3, 5];
    const data = Tensor.from(make(15), shape, dtype);
    specs[dtype] = { dtype, shape, data };
    input[`w.${dtype}`] = { dtype, shape, bytes: bytesOf(data) };
  }
  const file = join(dir, 'written.pt');
  writeFileSync(file, torchCheckpoint(input));
  const { tensors, aliases } = await readTorchCheckpoint(file);
  t.deepEqual(aliases, {});
  for (const [dtype, s] of Object.entries(specs)) {
    const got = tensors[`w.${dtype}`]!;
    t.is(got.dtype, s.dtype);
    t.deepEqual(got.shape, s.shape);
    t.true(bytesOf(got).equals(bytesOf(s.data)), dtype);
  }
});

test('a model folder holding only pytorch_model.bin loads like its safetensors (f32 and bf16 matrices)', async (t) => {
  const golden = goldenPath('clip_text');
  const dir = tempDir();
  copyFileSync(join(golden, 'config.json'), join(dir, 'config.json'));
  const { tensors } = await loadSafetensors(golden);
  const input: Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }> = {};
  for (const [name, x] of Object.entries(tensors)) input[name] = { dtype: x.dtype, shape: x.shape, bytes: bytesOf(x) };
  writeFileSync(join(dir, 'pytorch_model.bin'), torchCheckpoint(input));
  for (const dtype of ['f32', 'bf16'] as const) {
    const a = await native.loadModel('clip_text', golden, dtype);
    const b = await native.loadModel('clip_text', dir, dtype);
    const pa = a.parameters();
    const pb = b.parameters();
    t.deepEqual(Object.keys(pb).sort(), Object.keys(pa).sort());
    for (const [name, x] of Object.entries(pa)) {
      const y = pb[name]!;
      t.is(y.dtype, x.dtype, name);
      t.true(bytesOf(new Tensor(y)).equals(bytesOf(new Tensor(x))), `${dtype} ${name}`);
    }
    a.dispose();
    b.dispose();
  }
});

// ---- hostile checkpoints ----------------------------------------------------------------

const hostileDir = tempDir();
const marker = join(hostileDir, 'pwned');
const touch = `touch ${marker}`;

/** A good tensor pickle fragment to surround hostile parts with a plausible state_dict. */
const goodSpec: TensorSpec & { name: string } = {
  name: 'w',
  storageType: 'FloatStorage',
  key: '0',
  numel: 6,
  shape: [2, 3],
};
const goodStorage = { '0': f32([1, 2, 3, 4, 5, 6]) };

function withPickle(p: Pickle | Buffer, storages: Record<string, Uint8Array> = goodStorage): Buffer {
  return torchArchive(p instanceof Pickle ? p.bytes_() : p, storages);
}

/** `GLOBAL module name; (arg,); REDUCE` inside a state_dict entry. */
function callGlobal(module: string, name: string, ...args: string[]): Buffer {
  const p = new Pickle().proto().orderedDict().str('w').global(module, name).mark();
  for (const a of args) p.str(a);
  return withPickle(p.tuple().reduce().setitem().stop());
}

function valid(): Buffer {
  return withPickle(stateDictPickle([goodSpec]));
}

function deepLists(n: number): Buffer {
  const p = new Pickle().proto();
  for (let i = 0; i < n; i++) p.emptyList();
  for (let i = 1; i < n; i++) p.append();
  return withPickle(p.stop());
}

const centralOffset = (buf: Buffer): number => buf.readUInt32LE(buf.length - 6);

interface Hostile {
  what: string;
  file: () => Buffer;
  message: RegExp;
}

const hostile: Record<string, Hostile> = {
  'os-system.pt': {
    what: 'os.system called through REDUCE',
    file: () => callGlobal('os', 'system', touch),
    message: /data\.pkl: global 'os\.system' is not allowed/,
  },
  'posix-system.pt': {
    what: 'posix.system (what os.system pickles as on Linux)',
    file: () => callGlobal('posix', 'system', touch),
    message: /global 'posix\.system' is not allowed/,
  },
  'builtins-eval.pt': {
    what: 'builtins.eval of an import',
    file: () => callGlobal('builtins', 'eval', `__import__('os').system('${touch}')`),
    message: /global 'builtins\.eval' is not allowed/,
  },
  'subprocess-popen.pt': {
    what: 'subprocess.Popen',
    file: () => callGlobal('subprocess', 'Popen', 'touch', marker),
    message: /global 'subprocess\.Popen' is not allowed/,
  },
  'builtins-getattr.pt': {
    what: 'builtins.getattr (the first step of most gadget chains)',
    file: () => callGlobal('builtins', 'getattr', 'os', 'system'),
    message: /global 'builtins\.getattr' is not allowed/,
  },
  'import-stack-global.pt': {
    what: 'builtins.__import__ named through STACK_GLOBAL (protocol 4)',
    file: () =>
      withPickle(new Pickle().proto(4).stackGlobal('builtins', '__import__').str('os').tupleOf(1).reduce().stop()),
    message: /global 'builtins\.__import__' is not allowed/,
  },
  'torch-global.pt': {
    what: 'a torch global off the allow-list (torch.load itself)',
    file: () => callGlobal('torch', 'load', '/etc/passwd'),
    message: /global 'torch\.load' is not allowed/,
  },
  'reduce-storage-class.pt': {
    what: 'REDUCE on an allowed global that is not a callable the reader allows (torch.FloatStorage)',
    file: () => withPickle(new Pickle().proto().global('torch', 'FloatStorage').int(10).tupleOf(1).reduce().stop()),
    message: /REDUCE on 'torch\.FloatStorage' is not allowed/,
  },
  'reduce-on-string.pt': {
    what: 'REDUCE on a plain value',
    file: () => withPickle(new Pickle().proto().str('os.system').str(touch).tupleOf(1).reduce().stop()),
    message: /REDUCE on a str \(only allowed globals can be called\)/,
  },
  'newobj-ordereddict.pt': {
    what: 'NEWOBJ (class instantiation) even on an allowed class',
    file: () => withPickle(new Pickle().proto().global('collections', 'OrderedDict').emptyTuple().raw(0x81).stop()),
    message: /NEWOBJ on 'collections\.OrderedDict' is not allowed/,
  },
  'build-on-tensor.pt': {
    what: 'BUILD setting state on a tensor (__setstate__ gadget)',
    file: () => {
      const p = new Pickle().proto().orderedDict().str('w').tensor(goodSpec).emptyDict().build();
      return withPickle(p.setitem().stop());
    },
    message: /BUILD on a tensor with a dict is not allowed/,
  },
  'inst-opcode.pt': {
    what: 'the INST opcode (imports and calls in one step)',
    file: () =>
      withPickle(
        new Pickle()
          .proto()
          .mark()
          .str(touch)
          .raw(0x69, ...Buffer.from('os\nsystem\n'))
          .stop(),
      ),
    message: /opcode 0x69 \(INST\) is not allowed/,
  },
  'unknown-opcode.pt': {
    what: 'an opcode no pickle protocol defines',
    file: () => withPickle(new Pickle().proto().raw(0xff).stop()),
    message: /unknown opcode 0xff \(at byte 2\)/,
  },
  'no-stop.pt': {
    what: 'a pickle that ends without STOP',
    file: () => withPickle(new Pickle().proto().emptyDict()),
    message: /the pickle ends without a STOP opcode/,
  },
  'truncated-zip.pt': {
    what: 'a torch.save file cut in half',
    file: () => {
      const good = readFileSync(join(fixtures, 'state.pt'));
      return good.subarray(0, good.length >> 1);
    },
    message: /no zip end-of-central-directory record \(a truncated or non-zip file\)/,
  },
  'storage-size-mismatch.pt': {
    what: 'a storage whose record is not numel x itemsize (10 floats claimed, 6 stored)',
    file: () => withPickle(stateDictPickle([{ ...goodSpec, numel: 10, shape: [10] }])),
    message: /storage '0': 10 elements of torch\.FloatStorage need 10 x 4 bytes but record 'archive\/data\/0' holds 24/,
  },
  'view-past-storage.pt': {
    what: 'a view (offset 4, 4 elements) reaching past its 6-element storage',
    file: () => withPickle(stateDictPickle([{ ...goodSpec, shape: [4], stride: [1], offset: 4 }])),
    message: /tensor 'w': the view \(offset 4, 4 elements\) reaches element 7 of storage '0', which holds 6/,
  },
  'stride-past-storage.pt': {
    what: 'a strided view reaching past its storage',
    file: () => withPickle(stateDictPickle([{ ...goodSpec, shape: [2, 3], stride: [5, 1] }])),
    message: /tensor 'w': the view \(offset 0, 6 elements\) reaches element 7 of storage '0'/,
  },
  'offset-past-storage.pt': {
    what: 'an empty view whose offset is past its storage',
    file: () => withPickle(stateDictPickle([{ ...goodSpec, shape: [0], stride: [1], offset: 100 }])),
    message: /tensor 'w': storage offset 100 is past the end of storage '0' \(6 elements\)/,
  },
  'absurd-shape.pt': {
    what: 'a shape whose element count overflows',
    file: () => withPickle(stateDictPickle([{ ...goodSpec, shape: [2 ** 40, 2 ** 40], stride: [0, 0] }])),
    message: /tensor 'w': its size overflows/,
  },
  'expanded-bomb.pt': {
    what: 'a stride-0 view asking for 2^30 elements from a 6-element storage',
    file: () => withPickle(stateDictPickle([{ ...goodSpec, shape: [2 ** 15, 2 ** 15], stride: [0, 0] }])),
    message: /tensor 'w': an expanded view of 1073741824 elements over a storage of 6 is refused/,
  },
  'missing-record.pt': {
    what: 'a persistent id naming a storage record that is not there',
    file: () => withPickle(stateDictPickle([{ ...goodSpec, key: '7' }])),
    message: /storage '7': record 'archive\/data\/7' is missing/,
  },
  'entry-offset-past-eof.pt': {
    what: 'a zip entry whose local header offset points past the end of the file',
    file: () => {
      const buf = valid();
      buf.writeUInt32LE(0x7fffffff, centralOffset(buf) + 42);
      return buf;
    },
    message: /zip entry 'archive\/data\.pkl': local header offset 2147483647 is past the central directory/,
  },
  'entry-size-past-eof.pt': {
    what: 'a zip entry whose size runs past the end of the file',
    file: () => {
      const buf = valid();
      const cd = centralOffset(buf);
      buf.writeUInt32LE(0x10000000, cd + 20);
      buf.writeUInt32LE(0x10000000, cd + 24);
      return buf;
    },
    message: /zip entry 'archive\/data\.pkl': its 268435456 bytes at offset 46 run past the central directory/,
  },
  'bad-central-directory.pt': {
    what: 'a central directory offset outside the file',
    file: () => {
      const buf = valid();
      buf.writeUInt32LE(0xfffffff0, buf.length - 6);
      return buf;
    },
    message: /the central directory \[4294967280, \+\d+\) lies outside the file/,
  },
  'duplicate-names.pt': {
    what: 'two zip entries with the same name (which one a reader picks would differ)',
    file: () =>
      zip([
        { name: 'archive/data.pkl', data: stateDictPickle([goodSpec]) },
        { name: 'archive/data/0', data: f32([1, 2, 3, 4, 5, 6]) },
        { name: 'archive/data/0', data: f32([6, 5, 4, 3, 2, 1]) },
      ]),
    message: /duplicate zip entry 'archive\/data\/0'/,
  },
  'deflated-entry.pt': {
    what: 'a compressed (deflate) entry',
    file: () =>
      zip([
        { name: 'archive/data.pkl', data: stateDictPickle([goodSpec]), method: 8 },
        { name: 'archive/data/0', data: f32([1, 2, 3, 4, 5, 6]) },
      ]),
    message: /zip entry 'archive\/data\.pkl' is compressed \(method 8, deflate\)/,
  },
  'crc-mismatch.pt': {
    what: 'a data.pkl whose bytes do not match its crc32',
    file: () => {
      const buf = valid();
      buf[49] = buf[49]! ^ 0x01; // a byte of the first entry's data (after its 30 + 16-byte local header)
      return buf;
    },
    message: /zip entry 'archive\/data\.pkl' is corrupt \(crc32/,
  },
  'big-endian.pt': {
    what: 'a big-endian checkpoint',
    file: () => torchArchive(stateDictPickle([goodSpec]), goodStorage, { byteorder: 'big' }),
    message: /record 'archive\/byteorder' says 'big'; only little-endian checkpoints are read/,
  },
  'deep-lists.pt': {
    what: 'lists nested 300 deep',
    file: () => deepLists(300),
    message: /values nest deeper than 256/,
  },
  'deep-marks.pt': {
    what: '300 open marks',
    file: () =>
      withPickle(
        new Pickle()
          .proto()
          .raw(...new Array<number>(300).fill(0x28))
          .stop(),
      ),
    message: /marks nest deeper than 256/,
  },
  'self-containing-list.pt': {
    what: 'a list appended to itself through the memo (a cycle)',
    file: () => withPickle(new Pickle().proto().emptyList().put(0).get(0).append().stop()),
    message: /a list cannot contain itself/,
  },
  'not-a-dict.pt': {
    what: 'a pickle of a list, not a state_dict',
    file: () => withPickle(new Pickle().proto().emptyList().stop()),
    message: /the checkpoint holds a list, not a dict of tensors/,
  },
  'legacy-format.pt': {
    what: 'the legacy torch.save format (a bare pickle starting with the magic number)',
    file: () => Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]),
    message:
      /legacy torch\.save format .* re-save it with torch\.save\(obj, path, _use_new_zipfile_serialization=True\)/,
  },
  'not-a-zip.pt': {
    what: 'a text file named .pt',
    file: () => Buffer.from('hello, this is not a checkpoint\n'),
    message: /not a PyTorch checkpoint \(torch\.save writes a zip archive; no zip signature\)/,
  },
  'no-data-pkl.pt': {
    what: 'a zip archive without data.pkl',
    file: () => zip([{ name: 'readme.txt', data: Buffer.from('hi') }]),
    message: /no '<name>\/data\.pkl' record/,
  },
};

test('the hostile set is large enough (>= 10) and every file is written', (t) => {
  t.true(Object.keys(hostile).length >= 30);
  for (const [name, h] of Object.entries(hostile)) writeFileSync(join(hostileDir, name), h.file());
  t.pass();
});

for (const [name, h] of Object.entries(hostile)) {
  test.serial(`hostile ${name}: ${h.what} -> E_FILE_FORMAT naming it`, async (t) => {
    const path = join(hostileDir, name);
    writeFileSync(path, h.file());
    const err = await t.throwsAsync(readTorchCheckpoint(path), { instanceOf: VlvError });
    t.is(err?.code, 'E_FILE_FORMAT', err?.message);
    t.true(err.message.startsWith(`${path}: `), err.message);
    t.regex(err.message, h.message);
    // Inspection validates the same archive and pickle: the same refusal (the crc of a storage
    // record is checked only when its data is read, and data.pkl's is always checked).
    const err2 = t.throws(() => inspectTorchCheckpoint(path), { instanceOf: VlvError });
    t.is(err2?.message, err.message);
    t.false(existsSync(marker), 'a payload ran');
  });
}

test.serial('no payload ran, the process is alive, and a good checkpoint still loads', async (t) => {
  t.false(existsSync(marker));
  const file = join(hostileDir, 'good.pt');
  writeFileSync(file, valid());
  const { tensors } = await readTorchCheckpoint(file);
  t.deepEqual(Array.from(tensors.w!.toArray() as Float32Array), [1, 2, 3, 4, 5, 6]);
  t.deepEqual(tensors.w!.shape, [2, 3]);
});

test.serial('`vlv inspect` of a hostile checkpoint exits 2 with the code; nothing ran', (t) => {
  const path = join(hostileDir, 'os-system-cli.pt');
  writeFileSync(path, hostile['os-system.pt']!.file());
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'lib', 'cli-main.ts'), 'inspect', path], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.is(r.status, 2, r.stderr);
  t.regex(r.stderr, /^vlv inspect: E_FILE_FORMAT: .*os-system-cli\.pt: .*global 'os\.system' is not allowed/);
  t.is(r.stdout, '');
  t.false(existsSync(marker));
});

test('a zip64 archive (sizes and offsets in zip64 fields, as past 4 GiB) reads like the plain one', async (t) => {
  const file = join(hostileDir, 'zip64.pt');
  writeFileSync(file, torchArchive(stateDictPickle([goodSpec]), goodStorage, { zip64: true }));
  const { tensors } = await readTorchCheckpoint(file);
  t.deepEqual(Array.from(tensors.w!.toArray() as Float32Array), [1, 2, 3, 4, 5, 6]);
  // A zip64 end record that points outside the file is refused.
  const bad = readFileSync(file);
  bad.writeBigUInt64LE(0xffffffffn, bad.length - 22 - 20 + 8);
  writeFileSync(file, bad);
  const err = await t.throwsAsync(readTorchCheckpoint(file), { instanceOf: VlvError });
  t.is(err?.code, 'E_FILE_FORMAT');
  t.regex(err.message, /the zip64 end record offset 4294967295 is outside the file/);
});

test('a storage record whose bytes fail their crc32: inspect lists it, loading refuses it', async (t) => {
  const file = join(hostileDir, 'storage-crc.pt');
  const buf = valid();
  const at = buf.indexOf(Buffer.from('archive/data/0')) + 'archive/data/0'.length; // its data follows the name
  buf[at] = buf[at]! ^ 0x40;
  writeFileSync(file, buf);
  t.is(inspectTorchCheckpoint(file).tensors.length, 1);
  const err = await t.throwsAsync(readTorchCheckpoint(file), { instanceOf: VlvError });
  t.is(err?.code, 'E_FILE_FORMAT');
  t.regex(err.message, /zip entry 'archive\/data\/0' is corrupt \(crc32/);
});

test.serial('1000 random mutations of a real data.pkl (crc kept valid): each loads or is E_FILE_FORMAT', async (t) => {
  const entries = unzip(readFileSync(join(fixtures, 'state.pt')));
  const pkl = entries.find((e) => e.name.endsWith('/data.pkl'))!;
  const file = join(hostileDir, 'mutated.pt');
  let seed = 2024;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const opcodes = [0x28, 0x2e, 0x30, 0x31, 0x32, 0x52, 0x62, 0x68, 0x71, 0x73, 0x74, 0x75, 0x61, 0x85, 0x86, 0x51];
  const codes: Record<string, number> = {};
  for (let i = 0; i < 1000; i++) {
    const b = Buffer.from(pkl.data);
    for (let k = 1 + rnd(3); k > 0; k--) {
      const at = rnd(b.length);
      const mode = rnd(3);
      b[at] = mode === 0 ? rnd(256) : mode === 1 ? b[at]! ^ (1 << rnd(8)) : opcodes[rnd(opcodes.length)]!;
    }
    const data = rnd(8) === 0 ? b.subarray(0, rnd(b.length)) : b;
    writeFileSync(file, zip(entries.map((e) => (e === pkl ? { name: e.name, data } : e))));
    try {
      await readTorchCheckpoint(file);
      codes.ok = (codes.ok ?? 0) + 1;
    } catch (e) {
      const code = e instanceof VlvError ? e.code : String(e);
      codes[code] = (codes[code] ?? 0) + 1;
    }
  }
  t.deepEqual(
    Object.keys(codes).filter((c) => c !== 'ok' && c !== 'E_FILE_FORMAT'),
    [],
    JSON.stringify(codes),
  );
  t.true((codes.E_FILE_FORMAT ?? 0) > 900);
});

test('a missing checkpoint is E_FILE', async (t) => {
  const err = await t.throwsAsync(readTorchCheckpoint(join(hostileDir, 'nope.pt')), { instanceOf: VlvError });
  t.is(err?.code, 'E_FILE');
});
