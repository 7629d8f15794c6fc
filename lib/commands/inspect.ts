/**
 * `vlv inspect <file.safetensors | index.json | file.pt | folder>`: every tensor's name, dtype
 * and shape, the totals (parameters, bytes), the file metadata, and a folder's config.json.
 * Reads only headers (for a torch.save checkpoint: the zip directory and the pickle, through
 * the weights-only reader), so it is instant on any checkpoint size and a corrupt or hostile
 * file is reported, not loaded.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { VlvError } from '../errors.js';
import { inspectSafetensors } from '../safetensors.js';
import { inspectTorchCheckpoint, isTorchCheckpointName } from '../torch-checkpoint.js';

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

function readConfig(folder: string): string | null {
  const path = join(folder, 'config.json');
  if (!existsSync(path)) return null;
  try {
    return JSON.stringify(JSON.parse(readFileSync(path, 'utf8')), null, 2);
  } catch (e) {
    throw new VlvError('E_FILE_FORMAT', `${path}: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

/** The torch.save file to inspect: the target itself, or a folder's only pytorch_model.bin. */
function torchTarget(target: string): string | null {
  if (!existsSync(target)) return null;
  if (!statSync(target).isDirectory()) return isTorchCheckpointName(target) ? target : null;
  const names = readdirSync(target);
  if (names.some((n) => n.endsWith('.safetensors') || n.endsWith('.safetensors.index.json'))) return null;
  const bin = ['pytorch_model.bin', 'diffusion_pytorch_model.bin'].find((n) => names.includes(n));
  return bin ? join(target, bin) : null;
}

function inspectTorch(file: string): void {
  const info = inspectTorchCheckpoint(file);
  const tied = info.tensors.filter((t) => t.aliasOf !== null);
  console.log(
    `${file}  (${formatBytes(info.fileBytes)}, torch.save zip read weights-only, ${info.tensors.length} tensors` +
      `${tied.length ? `, ${tied.length} tied` : ''})`,
  );
  const width = Math.max(0, ...info.tensors.map((t) => t.name.length));
  let params = 0;
  for (const t of [...info.tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const alias = t.aliasOf === null ? '' : `  = ${t.aliasOf}`;
    console.log(`  ${t.name.padEnd(width)}  ${t.dtype.padEnd(4)}  [${t.shape.join(', ')}]${alias}`);
    if (t.aliasOf === null) params += t.shape.reduce((a, b) => a * b, 1);
  }
  if (tied.length) {
    console.log('tied (one storage, several names):');
    for (const t of tied) console.log(`  ${t.name} = ${t.aliasOf}`);
  }
  console.log(
    `total: ${info.tensors.length} tensors (${info.tensors.length - tied.length} distinct), ` +
      `${params.toLocaleString('en-US')} parameters, ${formatBytes(info.storageBytes)}`,
  );
}

export function run(args: string[]): number {
  const target = args.find((a) => !a.startsWith('-'));
  if (!target)
    throw new VlvError(
      'E_ARG',
      'usage: vlv inspect <file.safetensors | model.safetensors.index.json | file.pt | folder>',
    );
  const torch = torchTarget(target);
  if (torch) {
    inspectTorch(torch);
    if (torch !== target) {
      const config = readConfig(target);
      if (config) console.log(`config.json:\n${config}`);
    }
    return 0;
  }
  const result = inspectSafetensors(target);
  let params = 0;
  let bytes = 0;
  if (result.index) console.log(`index: ${result.index}`);
  for (const file of result.files) {
    console.log(
      `${file.path}  (${formatBytes(file.fileBytes)}, header ${file.headerBytes} B, ${file.tensors.length} tensors)`,
    );
    if (file.metadata && Object.keys(file.metadata).length) console.log(`  metadata: ${JSON.stringify(file.metadata)}`);
    const width = Math.max(0, ...file.tensors.map((t) => t.name.length));
    for (const t of [...file.tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      console.log(`  ${t.name.padEnd(width)}  ${t.dtype.padEnd(4)}  [${t.shape.join(', ')}]`);
      params += t.shape.reduce((a, b) => a * b, 1);
      bytes += t.offsets[1] - t.offsets[0];
    }
  }
  const count = result.files.reduce((a, f) => a + f.tensors.length, 0);
  console.log(`total: ${count} tensors, ${params.toLocaleString('en-US')} parameters, ${formatBytes(bytes)}`);
  if (statSync(target).isDirectory()) {
    const config = readConfig(target);
    if (config) console.log(`config.json:\n${config}`);
  }
  return 0;
}
