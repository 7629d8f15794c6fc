/**
 * openDataSource: a dataset from what a user types: a folder (imageFolder), a .jsonl / .json /
 * .ndjson / .csv / .tsv file (captionFile), or .tar shards (webDataset: one file, a brace
 * pattern, or a list of them).
 */
import { VlvError } from '../errors.js';
import { imageFolder } from './image-folder.js';
import { captionFile } from './pairs.js';
import { statOrThrow } from './paths.js';
import type { DataSource } from './types.js';
import { webDataset } from './webdataset.js';

const isShard = (p: string) => /\.tar(\}|$)/i.test(p) || /\{[^}]*\}[^/]*\.tar$/i.test(p);

export async function openDataSource(path: string | readonly string[]): Promise<DataSource> {
  const list = typeof path === 'string' ? [path] : [...path];
  if (list.length === 0) throw new VlvError('E_ARG', 'openDataSource: no path');
  if (list.every(isShard)) return webDataset(list);
  if (list.length > 1)
    throw new VlvError('E_ARG', `openDataSource: several paths are .tar shards only, got ${list.join(' ')}`);
  const p = list[0]!;
  if (/\.(jsonl|json|ndjson|csv|tsv)$/i.test(p)) return captionFile(p);
  const st = await statOrThrow(p, 'dataset');
  if (st.isDirectory()) return imageFolder(p);
  throw new VlvError('E_ARG', `openDataSource: ${p}: a folder, a .jsonl / .csv file or .tar shards`);
}
