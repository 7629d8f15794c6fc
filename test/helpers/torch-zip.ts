/**
 * Hand-written torch.save files for the reader's tests: a stored zip writer, a pickle byte
 * builder (opcodes by name), and a writer of a whole checkpoint in torch's own layout
 * (`<prefix>/data.pkl`, `<prefix>/data/<key>`, `<prefix>/byteorder`). Written by hand, with no
 * zip library, so hostile files can be built byte by byte (bad offsets, truncations, any opcode).
 */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipEntryInput {
  name: string;
  data: Uint8Array;
  /** Compression method written in the headers (the data stays as given); 0 = stored. */
  method?: number;
}

/**
 * A zip archive of stored entries, in order, with a central directory and an end record.
 * zip64: every size and offset of the central directory goes in a zip64 extra field and the
 * end record points to a zip64 end record (as writers do past 4 GiB or 65535 entries).
 */
export function zip(entries: ZipEntryInput[], options: { zip64?: boolean } = {}): Buffer {
  const z64 = options.zip64 ?? false;
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.method ?? 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(z64 ? 45 : 20, 4);
    header.writeUInt16LE(z64 ? 45 : 20, 6);
    header.writeUInt16LE(e.method ?? 0, 10);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(z64 ? 0xffffffff : e.data.length, 20);
    header.writeUInt32LE(z64 ? 0xffffffff : e.data.length, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt32LE(z64 ? 0xffffffff : offset, 42);
    const extra = Buffer.alloc(z64 ? 28 : 0);
    if (z64) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(e.data.length), 4); // uncompressed
      extra.writeBigUInt64LE(BigInt(e.data.length), 12); // compressed
      extra.writeBigUInt64LE(BigInt(offset), 20); // local header offset
      header.writeUInt16LE(extra.length, 30);
    }
    central.push(header, name, extra);
    parts.push(local, name, Buffer.from(e.data));
    offset += 30 + name.length + e.data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(z64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(z64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(z64 ? 0xffffffff : cd.length, 12);
  end.writeUInt32LE(z64 ? 0xffffffff : offset, 16);
  if (!z64) return Buffer.concat([...parts, cd, end]);
  const rec = Buffer.alloc(56);
  rec.writeUInt32LE(0x06064b50, 0);
  rec.writeBigUInt64LE(44n, 4);
  rec.writeUInt16LE(45, 12);
  rec.writeUInt16LE(45, 14);
  rec.writeBigUInt64LE(BigInt(entries.length), 24);
  rec.writeBigUInt64LE(BigInt(entries.length), 32);
  rec.writeBigUInt64LE(BigInt(cd.length), 40);
  rec.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + cd.length), 8);
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([...parts, cd, rec, locator, end]);
}

/** Pickle bytes, opcode by opcode (protocol 2 unless proto() says otherwise). */
export class Pickle {
  private readonly bytes: number[] = [];

  raw(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  proto(v = 2): this {
    return this.raw(0x80, v);
  }
  private text(s: string): number[] {
    return [...Buffer.from(s, 'utf8')];
  }
  /** GLOBAL 'module name' */
  global(module: string, name: string): this {
    return this.raw(0x63, ...this.text(`${module}\n${name}\n`));
  }
  /** STACK_GLOBAL from two strings */
  stackGlobal(module: string, name: string): this {
    return this.str(module).str(name).raw(0x93);
  }
  str(s: string): this {
    const b = this.text(s);
    const n = Buffer.alloc(4);
    n.writeUInt32LE(b.length);
    return this.raw(0x58, ...n, ...b);
  }
  int(v: number): this {
    if (v >= 0 && v < 256) return this.raw(0x4b, v);
    if (v >= 0 && v < 65536) return this.raw(0x4d, v & 0xff, v >> 8);
    if (v >= -(2 ** 31) && v < 2 ** 31) {
      const b = Buffer.alloc(4);
      b.writeInt32LE(v);
      return this.raw(0x4a, ...b);
    }
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(v));
    return this.raw(0x8a, 8, ...b); // LONG1
  }
  bool(v: boolean): this {
    return this.raw(v ? 0x88 : 0x89);
  }
  none(): this {
    return this.raw(0x4e);
  }
  mark(): this {
    return this.raw(0x28);
  }
  tuple(): this {
    return this.raw(0x74);
  }
  emptyTuple(): this {
    return this.raw(0x29);
  }
  tupleOf(n: 1 | 2 | 3): this {
    return this.raw(0x84 + n);
  }
  emptyList(): this {
    return this.raw(0x5d);
  }
  append(): this {
    return this.raw(0x61);
  }
  emptyDict(): this {
    return this.raw(0x7d);
  }
  setitem(): this {
    return this.raw(0x73);
  }
  setitems(): this {
    return this.raw(0x75);
  }
  reduce(): this {
    return this.raw(0x52);
  }
  build(): this {
    return this.raw(0x62);
  }
  binpersid(): this {
    return this.raw(0x51);
  }
  put(i: number): this {
    return this.raw(0x71, i);
  }
  get(i: number): this {
    return this.raw(0x68, i);
  }
  stop(): this {
    return this.raw(0x2e);
  }
  /** Integers as a tuple: MARK ints TUPLE. */
  ints(values: readonly number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  /** An empty OrderedDict: GLOBAL collections.OrderedDict, (), REDUCE. */
  orderedDict(): this {
    return this.global('collections', 'OrderedDict').emptyTuple().reduce();
  }
  /**
   * _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride,
   * False, OrderedDict()) as torch writes it.
   */
  tensor(t: TensorSpec): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    this.mark().str('storage').global('torch', t.storageType).str(t.key).str('cpu').int(t.numel).tuple().binpersid();
    this.int(t.offset ?? 0)
      .ints(t.shape)
      .ints(t.stride ?? contiguousStride(t.shape));
    return this.bool(false).orderedDict().tuple().reduce();
  }
  bytes_(): Buffer {
    return Buffer.from(this.bytes);
  }
}

export interface TensorSpec {
  storageType: string;
  key: string;
  numel: number;
  shape: readonly number[];
  stride?: readonly number[];
  offset?: number;
}

export function contiguousStride(shape: readonly number[]): number[] {
  const s: number[] = [];
  let n = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = n;
    n *= shape[d]!;
  }
  return s;
}

/** The pickle of an OrderedDict of tensors with a `_metadata` BUILD, as torch.save writes a state_dict. */
export function stateDictPickle(tensors: readonly (TensorSpec & { name: string })[]): Buffer {
  const p = new Pickle().proto().orderedDict();
  if (tensors.length) {
    p.mark();
    for (const t of tensors) p.str(t.name).tensor(t);
    p.setitems();
  }
  p.emptyDict().str('_metadata').orderedDict().mark().str('').emptyDict().str('version').int(1).setitem().setitems();
  return p.setitem().build().stop().bytes_();
}

/** A torch.save archive from a pickle and storage records. */
export function torchArchive(
  pickle: Uint8Array,
  storages: Record<string, Uint8Array>,
  options: { prefix?: string; byteorder?: string; zip64?: boolean } = {},
): Buffer {
  const prefix = options.prefix ?? 'archive';
  return zip(
    [
      { name: `${prefix}/data.pkl`, data: pickle },
      { name: `${prefix}/byteorder`, data: Buffer.from(options.byteorder ?? 'little') },
      ...Object.entries(storages).map(([key, data]) => ({ name: `${prefix}/data/${key}`, data })),
      { name: `${prefix}/version`, data: Buffer.from('3\n') },
    ],
    { zip64: options.zip64 ?? false },
  );
}

const STORAGE_OF: Record<string, string> = {
  f32: 'FloatStorage',
  f64: 'DoubleStorage',
  f16: 'HalfStorage',
  bf16: 'BFloat16Storage',
  i64: 'LongStorage',
  i32: 'IntStorage',
  u8: 'ByteStorage',
  bool: 'BoolStorage',
};

/** A whole checkpoint of contiguous tensors given as (dtype, shape, bytes), one storage each. */
export function torchCheckpoint(
  tensors: Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }>,
): Buffer {
  const specs: (TensorSpec & { name: string })[] = [];
  const storages: Record<string, Uint8Array> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const storageType = STORAGE_OF[t.dtype];
    if (!storageType) throw new Error(`no torch storage for ${t.dtype}`);
    const key = String(specs.length);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    specs.push({ name, storageType, key, numel, shape: t.shape });
    storages[key] = t.bytes;
  }
  return torchArchive(stateDictPickle(specs), storages);
}

/** The entries of a stored zip (no zip64), read through its central directory. */
export function unzip(buf: Buffer): ZipEntryInput[] {
  const entries: ZipEntryInput[] = [];
  const count = buf.readUInt16LE(buf.length - 12);
  let c = buf.readUInt32LE(buf.length - 6);
  for (let i = 0; i < count; i++) {
    const size = buf.readUInt32LE(c + 20);
    const [nl, xl, cl] = [buf.readUInt16LE(c + 28), buf.readUInt16LE(c + 30), buf.readUInt16LE(c + 32)];
    const local = buf.readUInt32LE(c + 42);
    const data = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    entries.push({ name: buf.subarray(c + 46, c + 46 + nl).toString('utf8'), data: buf.subarray(data, data + size) });
    c += 46 + nl + xl + cl;
  }
  return entries;
}
