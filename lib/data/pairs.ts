/**
 * (image, caption) pairs listed in a file: JSONL (pairs-jsonl.ts) or CSV (pairs-csv.ts). Each
 * names its image by a path, absolute or relative to the listing file's folder, and a caption.
 * Field names: the image is `image` or else `file`, the caption `caption` or else `text`
 * (`imageField` / `captionField` name others). Either every pair has a caption (a captioned
 * dataset: batches carry `captions`) or none has. The image files are not opened here: one
 * missing when it is read is an unreadable image, skipped and counted.
 */
import { extname, resolve } from 'node:path';
import { VlvError } from '../errors.js';
import { pairsToSource, type PairFileOptions } from './pair-rows.js';
import { readCsvPairs } from './pairs-csv.js';
import { readJsonlPairs } from './pairs-jsonl.js';
import { statOrThrow } from './paths.js';
import type { ListedSource } from './types.js';

export type { PairFileOptions } from './pair-rows.js';

/** Reads a JSONL or CSV file of (image, caption) pairs (E_FILE when it is missing). */
export async function captionFile(path: string, opts: PairFileOptions = {}): Promise<ListedSource> {
  const file = resolve(path);
  const st = await statOrThrow(file, 'pairs file');
  if (!st.isFile()) throw new VlvError('E_FILE', `pairs file ${file}: not a file`);
  const ext = extname(file).toLowerCase();
  const format =
    opts.format ??
    (['.jsonl', '.json', '.ndjson'].includes(ext) ? 'jsonl' : ['.csv', '.tsv'].includes(ext) ? 'csv' : undefined);
  if (!format) throw new VlvError('E_ARG', `pairs file ${file}: say format 'jsonl' or 'csv' (unknown extension)`);
  const pairs = format === 'jsonl' ? await readJsonlPairs(file, opts) : await readCsvPairs(file, opts);
  return pairsToSource(file, pairs);
}
