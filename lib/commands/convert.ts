/**
 * `vlv convert <model.pt> <out-folder> [--parts-from <dir>]`: a torch.save checkpoint (read
 * weights-only: nothing in it runs) into a VLV model folder:
 *
 *  - `<out>/model.safetensors`: every tensor under its name with a leading `module.` stripped
 *    (as the official loader strips it), dtype kept; a tied name (the same storage, offset,
 *    shape and stride as an earlier one) is written once, under the first name, and the
 *    dropped names are listed in the file's metadata (`vlv.aliases`: JSON name -> kept name);
 *  - `<out>/<part>/`: each sub-folder of `--parts-from` (default: the checkpoint's folder) that
 *    holds a config (config.json, scheduler_config.json, preprocessor_config.json) or tokenizer
 *    files, with its config / tokenizer / json / txt files only (never weights);
 *  - `<out>/vlv.json`: {"format": "vlv", "version": 1, "checkpoint": "model.safetensors",
 *    "parts": {part: folder}} for the parts lib/vlv/folder.ts knows (florence2, text_encoder,
 *    tokenizer, unet, vae, scheduler, language_model; a folder named qwen2 is the
 *    language_model), the layout resolveVlvFolder reads.
 *
 * Progress goes to stderr for checkpoints of 64 MiB and more; the summary to stdout.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { VlvError } from '../errors.js';
import { saveSafetensors } from '../safetensors.js';
import type { Tensor } from '../tensor.js';
import { readTorchCheckpoint } from '../torch-checkpoint.js';
import { VLV_PARTS } from '../vlv/folder.js';

const USAGE = 'usage: vlv convert <model.pt | .bin | .pth | .ckpt> <out-folder> [--parts-from <dir>]';

const FOLDER_ALIASES: Record<string, string> = { qwen2: 'language_model' };

/** Files that make a sub-folder a model part. */
const PART_MARKERS = [
  'config.json',
  'scheduler_config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.json',
  'merges.txt',
  'vocab.txt',
  'tokenizer.model',
  'spiece.model',
];

const PROGRESS_BYTES = 64 * 1024 * 1024;

/** Config, tokenizer, json and txt files; never weights (nor a weights index). */
function isConfigFile(name: string): boolean {
  if (name.endsWith('.index.json')) return false;
  return (
    name.endsWith('.json') ||
    name.endsWith('.txt') ||
    name.endsWith('.tiktoken') ||
    name === 'tokenizer.model' ||
    name === 'spiece.model'
  );
}

function parseArgs(args: string[]): { checkpoint: string; out: string; partsFrom: string | undefined } {
  const positional: string[] = [];
  let partsFrom: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--parts-from') {
      partsFrom = args[++i];
      if (partsFrom === undefined) throw new VlvError('E_ARG', `--parts-from needs a folder\n${USAGE}`);
    } else if (a.startsWith('--parts-from=')) {
      partsFrom = a.slice('--parts-from='.length);
    } else if (a.startsWith('-')) {
      throw new VlvError('E_ARG', `unknown argument '${a}'\n${USAGE}`);
    } else {
      positional.push(a);
    }
  }
  if (positional.length !== 2) throw new VlvError('E_ARG', USAGE);
  return { checkpoint: positional[0]!, out: positional[1]!, partsFrom };
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** The sub-folders of `from` that are model parts (sorted), leaving out the output folder. */
function partFolders(from: string, out: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(from).sort()) {
    const dir = join(from, name);
    if (resolve(dir) === resolve(out) || !statSync(dir).isDirectory()) continue;
    const files = readdirSync(dir);
    if (files.some((f) => PART_MARKERS.includes(f))) found.push(name);
  }
  return found;
}

function copyPart(src: string, dst: string): string[] {
  mkdirSync(dst, { recursive: true });
  const copied: string[] = [];
  for (const name of readdirSync(src).sort()) {
    const path = join(src, name);
    if (!isConfigFile(name) || !statSync(path).isFile()) continue;
    copyFileSync(path, join(dst, name));
    copied.push(name);
  }
  return copied;
}

function writeAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export async function run(args: string[]): Promise<number> {
  const { checkpoint, out, partsFrom: partsArg } = parseArgs(args);
  if (!existsSync(checkpoint)) throw new VlvError('E_FILE', `${checkpoint}: no such file or directory`);
  if (!statSync(checkpoint).isFile()) throw new VlvError('E_ARG', `${checkpoint}: not a file\n${USAGE}`);
  const partsFrom = partsArg ?? dirname(checkpoint);
  if (!existsSync(partsFrom) || !statSync(partsFrom).isDirectory())
    throw new VlvError('E_FILE', `${partsFrom}: --parts-from is not a folder`);
  if (resolve(out) === resolve(partsFrom))
    throw new VlvError('E_ARG', `${out}: the output folder must not be the folder the parts come from`);
  const size = statSync(checkpoint).size;
  const progress = size >= PROGRESS_BYTES ? (line: string) => console.error(`vlv convert: ${line}`) : () => {};

  progress(`reading ${checkpoint} (${formatBytes(size)}, weights-only)`);
  const { tensors, aliases } = await readTorchCheckpoint(checkpoint);
  const strip = (name: string) => (name.startsWith('module.') ? name.slice('module.'.length) : name);
  const kept: Record<string, Tensor> = {};
  const dropped: Record<string, string> = {};
  const from: Record<string, string> = {};
  try {
    for (const [name, t] of Object.entries(tensors)) {
      const key = strip(name);
      const first = aliases[name];
      if (key in from || key in dropped)
        throw new VlvError(
          'E_FILE_FORMAT',
          `${checkpoint}: tensors '${from[key] ?? key}' and '${name}' both become '${key}' once 'module.' is stripped`,
        );
      if (first !== undefined) {
        dropped[key] = strip(first);
        continue;
      }
      kept[key] = t;
      from[key] = name;
    }
    if (Object.keys(kept).length === 0) throw new VlvError('E_FILE_FORMAT', `${checkpoint}: holds no tensors`);

    mkdirSync(out, { recursive: true });
    const target = join(out, 'model.safetensors');
    const bytes = Object.values(kept).reduce((a, t) => a + t.nbytes, 0);
    progress(`writing ${target} (${Object.keys(kept).length} tensors, ${formatBytes(bytes)})`);
    const metadata: Record<string, string> = { format: 'pt' };
    if (Object.keys(dropped).length) metadata['vlv.aliases'] = JSON.stringify(dropped);
    await saveSafetensors(target, kept, metadata);
    console.log(
      `${target}: ${Object.keys(kept).length} tensors, ${formatBytes(bytes)}` +
        (Object.keys(dropped).length ? ` (${Object.keys(dropped).length} tied names written once)` : ''),
    );
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
  for (const [name, first] of Object.entries(dropped)) console.log(`  tied: ${name} = ${first}`);

  const parts: Record<string, string> = {};
  for (const folder of partFolders(partsFrom, out)) {
    progress(`copying ${join(partsFrom, folder)}`);
    const copied = copyPart(join(partsFrom, folder), join(out, folder));
    console.log(`${join(out, folder)}/: ${copied.join(', ')}`);
    const part = (VLV_PARTS as readonly string[]).includes(folder) ? folder : FOLDER_ALIASES[folder];
    if (part && (parts[part] === undefined || folder === part)) parts[part] = folder;
  }
  const ordered: Record<string, string> = {};
  for (const p of VLV_PARTS) if (parts[p] !== undefined) ordered[p] = parts[p];
  const manifest = { format: 'vlv', version: 1, checkpoint: 'model.safetensors', parts: ordered };
  writeAtomic(join(out, 'vlv.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`${join(out, 'vlv.json')}: parts ${JSON.stringify(ordered)}`);
  return 0;
}
