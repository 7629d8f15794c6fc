/**
 * safetensors files and Hugging Face checkpoint folders: load (validated, memory-mapped,
 * zero-copy where the bytes fit), save (atomic), inspect (header only). Every failure is a
 * VlvError: E_FILE_FORMAT for a malformed file (the message names the file and the fault),
 * E_FILE when the file system refuses, E_ARG for a bad request.
 */
import { native, type NativeDType, type NativeTensor } from './native.js';
import { wrapAsync, wrapSync } from './errors.js';
import { Tensor, type DType } from './tensor.js';

/** One tensor's entry in a file header (dtype as the file spells it: "F32", "BF16", ...). */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** [begin, end) byte offsets within the data section. */
  offsets: [number, number];
}

export interface SafetensorsFileInfo {
  path: string;
  tensors: SafetensorsEntry[];
  /** The file's `__metadata__`, or null when it has none. */
  metadata: Record<string, string> | null;
  headerBytes: number;
  fileBytes: number;
}

export interface SafetensorsInspection {
  /** The index file when the checkpoint is sharded, else null. */
  index: string | null;
  files: SafetensorsFileInfo[];
}

export interface LoadSafetensorsOptions {
  /** Convert floating-point tensors to this dtype (e.g. 'f32' for a bf16 checkpoint). */
  dtype?: DType;
  /** Load only these tensors (each must exist). */
  names?: string[];
}

export interface LoadedSafetensors {
  tensors: Record<string, Tensor>;
  /** The file's `__metadata__` (sharded: the first shard's); {} when absent. */
  metadata: Record<string, string>;
}

/**
 * Loads a .safetensors file, a `*.safetensors.index.json` (every shard), or a folder holding
 * one of those (index first, then model.safetensors / diffusion_pytorch_model.safetensors,
 * then the folder's only *.safetensors).
 */
export async function loadSafetensors(
  pathOrFolder: string,
  options: LoadSafetensorsOptions = {},
): Promise<LoadedSafetensors> {
  const opts: { dtype?: NativeDType; names?: string[] } = {};
  if (options.dtype !== undefined) opts.dtype = options.dtype;
  if (options.names !== undefined) opts.names = [...options.names];
  const raw = await wrapAsync(() => native.safetensorsLoad(pathOrFolder, opts));
  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(raw.tensors)) tensors[name] = new Tensor(t);
  return { tensors, metadata: raw.metadata };
}

/** Writes tensors (and optional string metadata) atomically: temp file, fsync, rename. */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  const handles: Record<string, NativeTensor> = {};
  for (const [name, t] of Object.entries(tensors)) handles[name] = t.native;
  await wrapAsync(() => native.safetensorsSave(path, handles, metadata));
}

/** Reads and validates the headers of a file, index or folder (no tensor data is read). */
export function inspectSafetensors(pathOrFolder: string): SafetensorsInspection {
  return wrapSync(() => {
    const { index, files } = native.safetensorsResolve(pathOrFolder);
    return { index, files: files.map((path) => ({ path, ...native.safetensorsInspect(path) })) };
  });
}
