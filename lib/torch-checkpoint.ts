/**
 * PyTorch checkpoints (`.pt`, `.pth`, `.bin`, `.ckpt` written by torch.save), read weights-only:
 * the zip archive and its pickle are interpreted by an allow-list (csrc/io/torch_pickle.h) that
 * understands tensors and plain containers and never imports or calls anything from the file.
 * Any other global, opcode or call is refused with E_FILE_FORMAT naming it; so are truncated or
 * inconsistent archives, storages whose size disagrees with their records, views reaching past
 * their storage, and the legacy (non-zip) torch.save format.
 */
import { native, type NativeTorchCheckpointEntry } from './native.js';
import { wrapAsync, wrapSync } from './errors.js';
import { Tensor } from './tensor.js';

/** One tensor of a checkpoint as its pickle describes it (dtype as safetensors spells it). */
export type TorchCheckpointEntry = NativeTorchCheckpointEntry;

export interface TorchCheckpointInfo {
  path: string;
  tensors: TorchCheckpointEntry[];
  fileBytes: number;
  /** The distinct storages' bytes (tied tensors count once). */
  storageBytes: number;
}

export interface TorchCheckpoint {
  /** Every tensor under its pickle name (tied names each get their tensor). */
  tensors: Record<string, Tensor>;
  /** name -> the first name sharing the same storage, offset, shape and stride. */
  aliases: Record<string, string>;
}

/**
 * Loads every tensor of a torch.save checkpoint (the top dict of the pickle, or its
 * `state_dict` entry). Tensors keep their dtype (Short / Char storages widen to i32).
 */
export async function readTorchCheckpoint(path: string): Promise<TorchCheckpoint> {
  const raw = await wrapAsync(() => native.torchCheckpointLoad(path));
  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(raw.tensors)) tensors[name] = new Tensor(t);
  return { tensors, aliases: raw.aliases };
}

/** Validates the archive and the pickle and lists the tensors, reading no tensor data. */
export function inspectTorchCheckpoint(path: string): TorchCheckpointInfo {
  return wrapSync(() => ({ path, ...native.torchCheckpointInspect(path) }));
}

/** True for the file names torch.save checkpoints go by: *.pt, *.pth, *.bin, *.ckpt. */
export function isTorchCheckpointName(path: string): boolean {
  return /\.(pt|pth|bin|ckpt)$/i.test(path);
}
