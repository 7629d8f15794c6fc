/**
 * Opening the training data: a DataLoader given by the caller, a factory of one (called with
 * the run's batch size, transform and seed), or a path for the dataset readers of lib/data/
 * (an image folder, a JSONL / CSV of pairs, WebDataset shards: openDataSource).
 */
import { VlvError } from '../errors.js';
import { createDataLoader } from '../data/loader.js';
import { openDataSource } from '../data/open.js';
import type { DataLoader, DataLoaderOptions } from '../data/types.js';
import type { TrainData } from './options.js';

/** What reads a dataset path: lib/data's openDataSource + createDataLoader unless replaced. */
type PathLoader = (path: string, opts: DataLoaderOptions) => DataLoader | Promise<DataLoader>;

const readDataset: PathLoader = async (path, opts) => createDataLoader(await openDataSource(path), opts);
let pathLoader: PathLoader = readDataset;

/** Replaces the reader of dataset paths (null: lib/data's again); for tests and custom formats. */
export function setPathLoader(fn: PathLoader | null): void {
  pathLoader = fn ?? readDataset;
}

export async function openData(data: TrainData | undefined, opts: DataLoaderOptions): Promise<DataLoader> {
  if (data === undefined) throw new VlvError('E_ARG', 'training needs data (a dataset path or a DataLoader)');
  if (typeof data === 'function') return data(opts);
  if (typeof data !== 'string') return data;
  return pathLoader(data, opts);
}
