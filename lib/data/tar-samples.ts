/**
 * The samples of one WebDataset shard, streamed entry by entry (tar-stream): a sample is the
 * run of consecutive entries sharing a key, the entry's path up to the first '.' of its file
 * name (`0001.jpg`, `0001.txt`, `0001.json` -> key `0001`, as WebDataset groups them). Its image
 * is the entry whose extension is an image's (jpg, jpeg, png, webp, avif, tif, tiff, gif), its
 * caption `key.txt` (UTF-8) or else the `caption` string of `key.json` (img2dataset writes both).
 * A run without an image is not a sample. Only one sample's bytes are held at a time.
 * A shard that ends early or cannot be read ends with an error item; the entries read whole
 * before it stand.
 */
import { createReadStream } from 'node:fs';
import tar from 'tar-stream';
import { IMAGE_EXTENSIONS } from './paths.js';

export interface ShardSample {
  key: string;
  bytes: Uint8Array;
  caption?: string;
}

export type ShardItem = { sample: ShardSample } | { error: Error; shard: string };

const IMAGE_EXT = new Set(IMAGE_EXTENSIONS.map((e) => e.slice(1)));
const KEY_EXT = /^((?:.*\/|)[^./][^.]*)\.([^/]*)$/;

interface Group {
  key: string;
  image?: Uint8Array;
  txt?: string;
  json?: string;
}

function finish(g: Group | undefined): ShardSample | undefined {
  if (!g?.image) return undefined;
  let caption = g.txt;
  if (caption === undefined && g.json !== undefined) {
    try {
      const o = JSON.parse(g.json) as unknown;
      if (o && typeof o === 'object' && typeof (o as { caption?: unknown }).caption === 'string')
        caption = (o as { caption: string }).caption;
    } catch {
      // a broken .json is a sample without caption
    }
  }
  return caption === undefined ? { key: g.key, bytes: g.image } : { key: g.key, bytes: g.image, caption };
}

/** An entry's bytes in an ArrayBuffer of their own (they are transferred to a worker; Buffer.concat may use the shared pool). */
async function readAll(entry: AsyncIterable<Buffer>): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of entry) {
    chunks.push(c);
    n += c.length;
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The samples of `shard` in file order; `signal` stops the reading (the file is closed). */
export async function* shardSamples(shard: string, signal?: AbortSignal): AsyncGenerator<ShardItem> {
  const file = createReadStream(shard);
  const extract = tar.extract();
  const stop = () => file.destroy();
  signal?.addEventListener('abort', stop, { once: true });
  let readError: Error | undefined;
  file.on('error', (e) => {
    readError = e;
    extract.destroy(e);
  });
  file.pipe(extract);
  let group: Group | undefined;
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const m = h.type === 'file' || h.type === 'contiguous-file' ? KEY_EXT.exec(h.name) : null;
      if (!m) {
        entry.resume();
        continue;
      }
      const key = m[1]!,
        ext = m[2]!.toLowerCase();
      if (group && group.key !== key) {
        const s = finish(group);
        group = undefined;
        if (s) yield { sample: s };
      }
      group ??= { key };
      if (IMAGE_EXT.has(ext) && !group.image) group.image = await readAll(entry as AsyncIterable<Buffer>);
      else if (ext === 'txt') group.txt = Buffer.from(await readAll(entry as AsyncIterable<Buffer>)).toString('utf8');
      else if (ext === 'json') group.json = Buffer.from(await readAll(entry as AsyncIterable<Buffer>)).toString('utf8');
      else entry.resume();
    }
    const s = finish(group);
    if (s) yield { sample: s };
  } catch (e) {
    if (signal?.aborted) return;
    // The entries read whole before the break stand (an image cut short is not among them).
    const s = finish(group);
    if (s) yield { sample: s };
    const err = readError ?? (e as Error);
    yield { error: new Error(`shard ${shard}: ${err.message}`, { cause: err }), shard };
  } finally {
    signal?.removeEventListener('abort', stop);
    file.destroy();
    extract.destroy();
  }
}
