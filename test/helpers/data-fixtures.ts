/**
 * Small datasets written for the data tests (test/data/): images of every format sharp reads
 * here, broken files, JSONL / CSV pair lists and WebDataset shards (tar-stream's pack).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import tar from 'tar-stream';

/** A tmp folder of this test file. */
export const tempDir = (tag: string): string => mkdtempSync(join(tmpdir(), `vlv-data-${tag}-`));

/** Raw RGB(A) pixels with a pattern of their own (seed) so every image differs. */
export function pattern(width: number, height: number, channels: 3 | 4, seed: number): Buffer {
  const b = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      b[i] = (x * 17 + seed * 31) & 255;
      b[i + 1] = (y * 23 + seed * 7) & 255;
      b[i + 2] = ((x ^ y) * 11 + seed * 53) & 255;
      if (channels === 4) b[i + 3] = (x * 9) & 255;
    }
  return b;
}

export const rawImage = (width: number, height: number, seed: number, channels: 3 | 4 = 3) =>
  sharp(pattern(width, height, channels, seed), { raw: { width, height, channels } });

export type Encoded = 'jpg' | 'png' | 'webp' | 'tiff' | 'avif' | 'gif';

/** An image file's bytes: `seed` picks the pattern; png has alpha; jpg carries EXIF orientation 6. */
export async function encode(kind: Encoded, seed: number, width = 23, height = 17): Promise<Buffer> {
  switch (kind) {
    case 'jpg':
      return rawImage(width, height, seed).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    case 'png':
      return rawImage(width, height, seed, 4).png().toBuffer();
    case 'webp':
      return rawImage(width, height, seed).webp({ lossless: true }).toBuffer();
    case 'tiff':
      return rawImage(width, height, seed).tiff().toBuffer();
    case 'avif':
      return rawImage(width, height, seed).avif({ lossless: true }).toBuffer();
    case 'gif': {
      // Two frames: the first is red, the second blue (the loader takes the first).
      const frame = (background: string) =>
        sharp({ create: { width, height, channels: 3, background } })
          .png()
          .toBuffer();
      return sharp([await frame('#ff0000'), await frame('#0000ff')], { join: { animated: true } })
        .gif()
        .toBuffer();
    }
  }
}

export function write(path: string, bytes: Buffer | string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return path;
}

/** Unreadable images: corrupt bytes behind a JPEG header, half a PNG, text named .jpg. */
export async function brokenImages(): Promise<Record<'corrupt.jpg' | 'truncated.png' | 'text.jpg', Buffer>> {
  const png = await rawImage(40, 30, 99).png().toBuffer();
  const junk = Buffer.alloc(300);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 97 + 13) & 255;
  return {
    'corrupt.jpg': Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), junk]),
    'truncated.png': png.subarray(0, Math.floor(png.length / 2)),
    'text.jpg': Buffer.from('this is not an image\n'),
  };
}

/** A WebDataset shard: entries in the order given ([name, bytes]); `truncate` cuts the file short. */
export async function writeShard(path: string, entries: [string, Buffer | string][], truncate?: number): Promise<void> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c) => chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const [name, data] of entries) pack.entry({ name }, typeof data === 'string' ? Buffer.from(data) : data);
  pack.finalize();
  await done;
  const all = Buffer.concat(chunks);
  write(path, truncate === undefined ? all : all.subarray(0, truncate));
}

/** img2dataset-style samples `${prefix}${i}`: a .jpg/.png/.webp image, a .txt caption and a .json with `caption`. */
export async function shardSamples(
  prefix: string,
  from: number,
  count: number,
  opts: { jsonOnly?: boolean } = {},
): Promise<[string, Buffer | string][]> {
  const out: [string, Buffer | string][] = [];
  const kinds: Encoded[] = ['jpg', 'png', 'webp'];
  for (let i = from; i < from + count; i++) {
    const key = `${prefix}${String(i).padStart(4, '0')}`;
    const kind = kinds[i % 3]!;
    out.push([`${key}.${kind}`, await encode(kind, i, 12 + (i % 5), 10)]);
    if (!opts.jsonOnly) out.push([`${key}.txt`, `caption ${i}`]);
    out.push([`${key}.json`, JSON.stringify({ caption: `caption ${i}`, key })]);
  }
  return out;
}
