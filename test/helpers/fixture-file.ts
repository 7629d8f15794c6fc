/**
 * A deliberately small, independent safetensors reader for test fixtures (the engine's own
 * reader is under test elsewhere; this one lets op tests stand apart from it).
 */
import { readFileSync } from 'node:fs';
import { Tensor, type DType } from '../../lib/index.js';

export interface RawTensor {
  dtype: string; // safetensors tag: F32, F64, I64, ...
  shape: number[];
  bytes: Uint8Array;
}

export interface FixtureFile {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

export function readFixture(path: string): FixtureFile {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const base = 8 + n;
  const tensors = new Map<string, RawTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const bytes = new Uint8Array(
      buf.buffer.slice(buf.byteOffset + base + e.data_offsets[0], buf.byteOffset + base + e.data_offsets[1]),
    );
    tensors.set(name, { dtype: e.dtype, shape: e.shape, bytes });
  }
  return { tensors, metadata };
}

const TAGS: Record<string, DType> = {
  F32: 'f32',
  F64: 'f64',
  I32: 'i32',
  I64: 'i64',
  BOOL: 'bool',
  U8: 'u8',
  BF16: 'bf16',
  F16: 'f16',
};

export function toTensor(raw: RawTensor): Tensor {
  const dtype = TAGS[raw.dtype];
  if (!dtype) throw new Error(`fixture dtype ${raw.dtype} not supported`);
  const b = raw.bytes;
  const view = (() => {
    switch (dtype) {
      case 'f32':
        return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      case 'f64':
        return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
      case 'i32':
        return new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      case 'i64':
        return new BigInt64Array(b.buffer, b.byteOffset, b.byteLength / 8);
      case 'bf16':
      case 'f16':
        return new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
      default:
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    }
  })();
  return Tensor.from(view, raw.shape, dtype);
}

/** The values as float64 (integers converted), for comparisons. */
export function toFloat64(raw: RawTensor): Float64Array {
  const b = raw.bytes;
  switch (raw.dtype) {
    case 'F64':
      return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    case 'F32':
      return Float64Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
    case 'I32':
      return Float64Array.from(new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
    case 'I64':
      return Float64Array.from(new BigInt64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), Number);
    default:
      return Float64Array.from(b);
  }
}
