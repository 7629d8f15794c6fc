/**
 * Writes the crafted bad safetensors files of test/fixtures/safetensors-bad/ and their
 * manifest expected.json (file -> expected error code, a message substring, what is wrong).
 * Run: npx tsx scripts/make-bad-safetensors.ts   (the output is committed; each file is tiny)
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const outDir = join(import.meta.dirname, '..', 'test', 'fixtures', 'safetensors-bad');

interface Case {
  file: string;
  what: string;
  bytes: Buffer;
  code: string;
  message: string;
}

/** 8-byte little-endian length, then the header bytes, then `data` bytes (default: zeros to fit). */
function file(header: string | Buffer, data: number | Buffer = 0, length?: bigint): Buffer {
  const h = typeof header === 'string' ? Buffer.from(header, 'utf8') : header;
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(length ?? BigInt(h.length));
  return Buffer.concat([n, h, typeof data === 'number' ? Buffer.alloc(data) : data]);
}

const f32x4 = '{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}';
const cases: Case[] = [];
function add(name: string, what: string, bytes: Buffer, message: string, code = 'E_FILE_FORMAT'): void {
  cases.push({ file: `${name}.safetensors`, what, bytes, code, message });
}

add('empty-file', 'zero bytes', Buffer.alloc(0), 'is 0 bytes, too short for the 8-byte header length');
add('short-file', '5 bytes: less than the header length field', Buffer.from([1, 0, 0, 0, 0]), 'is 5 bytes, too short');
add(
  'header-past-end',
  'header length 1000 in a 28-byte file',
  file('{}', 18, 1000n),
  'header length 1000 runs past the end of the file (28 bytes)',
);
add(
  'header-absurd',
  'header length 2^63',
  file('{}', 0, 1n << 63n),
  'header length 9223372036854775808 exceeds the limit of 100000000 bytes',
);
add(
  'header-over-limit',
  'header length 100000001 (just over the limit)',
  file('{}', 0, 100_000_001n),
  'exceeds the limit',
);
add(
  'header-zero-length',
  'header length 0',
  file(''),
  'the header is not valid JSON: unexpected end of input at byte 0',
);
add(
  'header-not-json',
  'header is not JSON',
  file('{not json}'),
  'the header is not valid JSON: expected a string key at byte 1',
);
add('header-array', 'header is a JSON array', file('[1,2,3] '), 'the header must be a JSON object, got an array');
add('header-string', 'header is a JSON string', file('"hello"'), 'the header must be a JSON object, got a string');
add(
  'header-trailing-garbage',
  'bytes after the JSON object',
  file('{}  xyz '),
  "unexpected 'x' after the JSON value at byte 4",
);
add(
  'header-nul-padding',
  'header padded with NUL bytes instead of spaces',
  file(Buffer.from('{}\0\0\0\0\0\0')),
  'unexpected byte 0x00 after the JSON value',
);
add(
  'header-trailing-comma',
  'a trailing comma in the header object',
  file('{"__metadata__":{"a":"b"},}'),
  'expected a string key',
);
add(
  'name-invalid-utf8',
  'a tensor name with byte 0xff',
  file(
    Buffer.concat([
      Buffer.from('{"w'),
      Buffer.from([0xff]),
      Buffer.from('":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'),
    ]),
  ),
  'invalid UTF-8 byte 0xff in a string at byte 3',
);
add(
  'name-overlong-utf8',
  'a tensor name with an overlong UTF-8 encoding of "/"',
  file(
    Buffer.concat([
      Buffer.from('{"'),
      Buffer.from([0xc0, 0xaf]),
      Buffer.from('":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'),
    ]),
  ),
  'invalid UTF-8 byte 0xc0',
);
add(
  'name-lone-surrogate',
  'a tensor name escaping a lone high surrogate',
  file('{"\\ud800x":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'),
  'high surrogate not followed by a low surrogate at byte 2',
);
add(
  'name-control-char',
  'a raw newline inside a tensor name',
  file('{"a\nb":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'),
  'unescaped control character byte 0x0a',
);
add(
  'duplicate-keys',
  'the same tensor name twice',
  file(
    '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
    8,
  ),
  "duplicate key 'w' at byte 54",
);
add(
  'unknown-dtype',
  'dtype Q4',
  file('{"w":{"dtype":"Q4","shape":[4],"data_offsets":[0,4]}}', 4),
  "tensor 'w': unknown dtype 'Q4'",
);
add(
  'unsupported-dtype-f8',
  'dtype F8_E4M3: valid in the format, not read by vlv',
  file('{"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}', 4),
  "tensor 'w': unknown dtype 'F8_E4M3'",
);
add(
  'dtype-not-string',
  'dtype is a number',
  file('{"w":{"dtype":4,"shape":[4],"data_offsets":[0,16]}}', 16),
  "tensor 'w': dtype must be a string, got a number",
);
add(
  'entry-not-object',
  'a tensor entry that is a number',
  file('{"w":5}'),
  "tensor 'w': entry must be an object, got a number",
);
add(
  'shape-negative',
  'shape [-1, 4]',
  file('{"w":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,16]}}', 16),
  "tensor 'w': shape entry must be a non-negative integer, got -1",
);
add(
  'shape-not-integers',
  'shape [1.5]',
  file('{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', 4),
  "tensor 'w': shape entry must be a non-negative integer, got 1.5",
);
add(
  'shape-exponent',
  'shape [1e2] (integers must be written as integers)',
  file('{"w":{"dtype":"U8","shape":[1e2],"data_offsets":[0,100]}}', 100),
  'shape entry must be a non-negative integer, got 1e2',
);
add(
  'shape-not-array',
  'shape is a string',
  file('{"w":{"dtype":"F32","shape":"4","data_offsets":[0,16]}}', 16),
  "tensor 'w': shape must be an array, got a string",
);
add(
  'shape-entry-too-big',
  'shape entry 2^64',
  file('{"w":{"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,0]}}'),
  "tensor 'w': shape entry 18446744073709551616 does not fit 64 bits",
);
add(
  'shape-overflow',
  'shape [2^40, 2^40]: the element count overflows',
  file('{"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]}}', 16),
  'shape [1099511627776,1099511627776] of F32 overflows 64-bit sizes',
);
add(
  'shape-size-mismatch',
  'F32[2,2] in a 12-byte span',
  file('{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}', 12),
  "tensor 'w': data_offsets [0,12] span 12 bytes but F32[2,2] needs 16",
);
add(
  'offsets-reversed',
  'data_offsets [16, 0]',
  file('{"w":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}}', 16),
  "tensor 'w': data_offsets [16,0] are reversed (begin > end)",
);
add(
  'offsets-negative',
  'data_offsets [-4, 12]',
  file('{"w":{"dtype":"F32","shape":[4],"data_offsets":[-4,12]}}', 16),
  "tensor 'w': data_offsets entry must be a non-negative integer, got -4",
);
add(
  'offsets-wrong-arity',
  'data_offsets with one entry',
  file('{"w":{"dtype":"F32","shape":[4],"data_offsets":[16]}}', 16),
  'data_offsets must be an array [begin, end], got 1 entries',
);
add(
  'offsets-out-of-range',
  'a span past the end of the data section',
  file('{"w":{"dtype":"F32","shape":[4],"data_offsets":[100,116]}}', 16),
  'data_offsets [100,116] run past the end of the data section (16 bytes',
);
add(
  'offsets-overlap',
  'two spans sharing bytes',
  file(
    '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}',
    24,
  ),
  "tensor 'b': data_offsets [8,24] overlap tensor 'a' [0,16]",
);
add(
  'offsets-hole',
  'a gap between two spans',
  file(
    '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}',
    24,
  ),
  "hole of 8 bytes in the data section at offset 8 before tensor 'b'",
);
add(
  'offsets-not-from-zero',
  'the only span starts at 8',
  file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', 16),
  'hole of 8 bytes in the data section at offset 0',
);
add(
  'missing-data-offsets',
  'an entry without data_offsets',
  file('{"w":{"dtype":"F32","shape":[4]}}', 16),
  "tensor 'w': missing 'data_offsets'",
);
add(
  'missing-dtype',
  'an entry without dtype',
  file('{"w":{"shape":[4],"data_offsets":[0,16]}}', 16),
  "tensor 'w': missing 'dtype'",
);
add(
  'extra-field',
  'an entry with an extra field',
  file('{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"foo":1}}', 16),
  "tensor 'w': unexpected field 'foo'",
);
add(
  'metadata-not-strings',
  '__metadata__ with a number value',
  file('{"__metadata__":{"format":"pt","n":1}}'),
  "__metadata__ value for 'n' must be a string, got a number",
);
add(
  'metadata-not-object',
  '__metadata__ is a string',
  file('{"__metadata__":"pt"}'),
  '__metadata__ must be an object of strings, got a string',
);
add(
  'metadata-deep-nesting',
  '__metadata__ nested 10000 arrays deep',
  file(`{"__metadata__":{"a":${'['.repeat(10000)}${']'.repeat(10000)}}}`),
  'nesting deeper than 64 levels',
);
add(
  'truncated-data',
  'valid header, data cut short',
  file(f32x4, 10),
  "tensor 'w': data_offsets [0,16] run past the end of the data section (10 bytes; is the file truncated?)",
);
add(
  'trailing-data',
  'valid header and data, then 4 extra bytes',
  file(f32x4, 20),
  'the data section has 20 bytes but the tensors cover 16 (4 trailing bytes)',
);
add(
  'empty-header-with-data',
  'header {} followed by 16 data bytes',
  file('{}', 16),
  'the data section has 16 bytes but the tensors cover 0 (16 trailing bytes)',
);

mkdirSync(outDir, { recursive: true });
for (const f of readdirSync(outDir)) rmSync(join(outDir, f));
const manifest: Record<string, { code: string; message: string; what: string }> = {};
for (const c of cases) {
  writeFileSync(join(outDir, c.file), c.bytes);
  manifest[c.file] = { code: c.code, message: c.message, what: c.what };
}
writeFileSync(join(outDir, 'expected.json'), JSON.stringify(manifest, null, 2) + '\n');
console.log(`wrote ${cases.length} bad files to ${outDir}`);
