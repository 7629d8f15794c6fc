/**
 * A VLV model folder: where each part of the auto-encoder comes from. Two layouts:
 *
 * - `vlv.json` (the project's own; `vlv convert` and training checkpoints write it):
 *   `{"format": "vlv", "version": 1, "checkpoint": "model.safetensors",
 *     "overlay"?: "trainable.safetensors",
 *     "parts": {"florence2": "florence2", "text_encoder": "…", "unet": "/abs/sd21/unet", …}}`
 *   Paths are relative to the folder or absolute, so real SD 2.1-base, Florence-2-large and
 *   Qwen2.5 folders can be pointed at without copying them. The overlay's tensors replace the
 *   checkpoint's by name: a training checkpoint stores only the trainable weights and names
 *   the base checkpoint.
 * - the official layouts, with no vlv.json: a stage-1 folder (`model.safetensors`, the whole
 *   SDModel state dict, beside `florence2/ text_encoder/ tokenizer/ unet/ vae/ scheduler/`) or
 *   the released captioner (`model.pt`, CLIPDecoder's state dict, beside `florence2/
 *   text_encoder/ qwen2/`). The parts are the sub-folders that exist.
 *
 * The checkpoint holds the weights under the official names (`model.*` Florence-2,
 * `text_encoder.*`, `unet.*`, `vae.*`, `language_proj.*`, `query_embed`; the captioner's
 * `VLV_model.*`, `qwen2_model.*`, `mlp.*`). A part the checkpoint lacks loads its weights from
 * its own folder (a diffusers or transformers folder).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { VlvError } from '../errors.js';

/** The parts a VLV folder can name. */
export const VLV_PARTS = [
  'florence2',
  'text_encoder',
  'tokenizer',
  'unet',
  'vae',
  'scheduler',
  'language_model',
] as const;
export type VlvPart = (typeof VLV_PARTS)[number];

export interface VlvFolder {
  /** The folder itself (absolute). */
  root: string;
  /** The weights file (absolute): safetensors, or a PyTorch checkpoint read without pickle execution. */
  checkpoint: string;
  /** Tensors that replace the checkpoint's by name (a training checkpoint's trainable weights), absolute. */
  overlay?: string;
  /** Each part's folder (absolute), for the parts the folder has. */
  parts: Partial<Record<VlvPart, string>>;
}

/** The official layouts' sub-folder of each part. */
const OFFICIAL_FOLDERS: Record<VlvPart, string> = {
  florence2: 'florence2',
  text_encoder: 'text_encoder',
  tokenizer: 'tokenizer',
  unet: 'unet',
  vae: 'vae',
  scheduler: 'scheduler',
  language_model: 'qwen2',
};

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();
const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();

function fromJson(root: string, file: string): VlvFolder {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new VlvError('E_FILE_FORMAT', `${file}: not readable JSON (${(e as Error).message})`);
  }
  const spec = raw as { format?: unknown; checkpoint?: unknown; overlay?: unknown; parts?: unknown };
  if (spec?.format !== 'vlv') throw new VlvError('E_FILE_FORMAT', `${file}: "format" must be "vlv"`);
  if (typeof spec.checkpoint !== 'string') throw new VlvError('E_FILE_FORMAT', `${file}: "checkpoint" must be a path`);
  if (typeof spec.parts !== 'object' || spec.parts === null)
    throw new VlvError('E_FILE_FORMAT', `${file}: "parts" must map part names to folders`);
  const at = (p: string) => (isAbsolute(p) ? p : join(root, p));
  const parts: Partial<Record<VlvPart, string>> = {};
  for (const [name, path] of Object.entries(spec.parts as Record<string, unknown>)) {
    if (!(VLV_PARTS as readonly string[]).includes(name))
      throw new VlvError('E_FILE_FORMAT', `${file}: unknown part '${name}' (${VLV_PARTS.join(', ')})`);
    if (typeof path !== 'string') throw new VlvError('E_FILE_FORMAT', `${file}: part '${name}' must be a path`);
    if (!isDir(at(path))) throw new VlvError('E_FILE', `${file}: part '${name}': ${at(path)} is not a folder`);
    parts[name as VlvPart] = at(path);
  }
  const checkpoint = at(spec.checkpoint);
  if (!isFile(checkpoint)) throw new VlvError('E_FILE', `${file}: checkpoint ${checkpoint} is not a file`);
  if (spec.overlay === undefined) return { root, checkpoint, parts };
  if (typeof spec.overlay !== 'string') throw new VlvError('E_FILE_FORMAT', `${file}: "overlay" must be a path`);
  const overlay = at(spec.overlay);
  if (!isFile(overlay)) throw new VlvError('E_FILE', `${file}: overlay ${overlay} is not a file`);
  return { root, checkpoint, overlay, parts };
}

/** Reads a VLV folder's layout (see the file comment); E_NOT_FOUND / E_FILE_FORMAT say what is missing. */
export function resolveVlvFolder(folder: string): VlvFolder {
  const root = resolve(folder);
  if (!isDir(root)) throw new VlvError('E_FILE', `VLV model: ${root} is not a folder`);
  const json = join(root, 'vlv.json');
  if (isFile(json)) return fromJson(root, json);
  const checkpoint = ['model.safetensors', 'model.pt', 'pytorch_model.bin'].map((f) => join(root, f)).find(isFile);
  if (!checkpoint)
    throw new VlvError(
      'E_FILE',
      `VLV model: ${root} has no vlv.json and no model.safetensors / model.pt (the official layouts)`,
    );
  const parts: Partial<Record<VlvPart, string>> = {};
  for (const part of VLV_PARTS) {
    const dir = join(root, OFFICIAL_FOLDERS[part]);
    if (isDir(dir)) parts[part] = dir;
  }
  return { root, checkpoint, parts };
}
