/**
 * WebDataset `.tar` shards as a dataset (the img2dataset layout: `key.jpg` / `.png` / `.webp`
 * beside `key.txt` or `key.json` with a `caption`; see tar-samples.ts): a list of shard files,
 * brace patterns (`data-{00000..00009}.tar`, brace.ts), or both. Every shard must exist when the
 * source is made (E_FILE); they are read one after the other, streamed, when the loader runs.
 */
import { resolve } from 'node:path';
import { VlvError } from '../errors.js';
import { expandBraces } from './brace.js';
import { statOrThrow } from './paths.js';
import type { ShardSource } from './types.js';

export interface WebDatasetOptions {
  /** Samples need a caption (default true): one without is skipped and counted. false: captions are not read. */
  captions?: boolean;
}

export async function webDataset(
  shards: string | readonly string[],
  opts: WebDatasetOptions = {},
): Promise<ShardSource> {
  const patterns = typeof shards === 'string' ? [shards] : [...shards];
  const files = patterns.flatMap((p) => expandBraces(p)).map((p) => resolve(p));
  if (files.length === 0) throw new VlvError('E_ARG', 'webDataset: no shards');
  for (const f of files) {
    const st = await statOrThrow(f, 'shard');
    if (!st.isFile()) throw new VlvError('E_FILE', `shard ${f}: not a file`);
  }
  return {
    kind: 'shards',
    name: patterns.join(' '),
    shards: files,
    captioned: opts.captions ?? true,
  };
}
