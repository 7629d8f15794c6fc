/** The rows of a pairs file (JSONL or CSV) into a listed source; see pairs.ts. */
import { dirname, isAbsolute, resolve } from 'node:path';
import { VlvError } from '../errors.js';
import type { DataRecord, ListedSource } from './types.js';

export interface PairFileOptions {
  /** The image's field or column (default: `image`, else `file`). */
  imageField?: string;
  /** The caption's field or column (default: `caption`, else `text`). */
  captionField?: string;
  /** 'jsonl' or 'csv' (default: from the extension: .jsonl / .json / .ndjson or .csv / .tsv). */
  format?: 'jsonl' | 'csv';
}

/** One pair as read from a row: where it was (for messages), its image path and caption. */
export interface RawPair {
  where: string;
  image: unknown;
  caption: unknown;
}

/** The field of `row` to use: the one named by the option, else the first of `defaults` present. */
export function pickField(present: (name: string) => boolean, option: string | undefined, defaults: string[]) {
  if (option !== undefined) return option;
  return defaults.find(present) ?? defaults[0]!;
}

/** Rows into a listed source: image paths resolved against the file's folder, captions all or none. */
export function pairsToSource(file: string, pairs: RawPair[]): ListedSource {
  if (pairs.length === 0) throw new VlvError('E_FILE', `${file}: no pairs`);
  const base = dirname(file);
  const records: DataRecord[] = [];
  let withCaption = 0;
  for (const p of pairs) {
    if (typeof p.image !== 'string' || p.image === '')
      throw new VlvError('E_FILE_FORMAT', `${p.where}: no image path (a non-empty string)`);
    if (p.caption !== undefined && p.caption !== null && typeof p.caption !== 'string')
      throw new VlvError('E_FILE_FORMAT', `${p.where}: the caption must be a string`);
    const path = isAbsolute(p.image) ? p.image : resolve(base, p.image);
    const rec: DataRecord = { key: path, file: path };
    if (typeof p.caption === 'string') {
      rec.caption = p.caption;
      withCaption++;
    }
    records.push(rec);
  }
  if (withCaption !== 0 && withCaption !== records.length) {
    const i = records.findIndex((r) => r.caption === undefined);
    throw new VlvError(
      'E_FILE_FORMAT',
      `${pairs[i]!.where}: no caption, while ${withCaption} other pairs have one (all or none)`,
    );
  }
  return { kind: 'listed', name: file, captioned: withCaption > 0, records };
}
