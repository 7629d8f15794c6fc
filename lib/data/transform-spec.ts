/**
 * An ImageTransform checked and made ready for the workers: 'vlv' reads the Florence-2 folder's
 * preprocessor_config.json here, once, with the parser Florence2Processor uses
 * (parseImageProcessorConfig), so a missing folder is E_FILE when the loader is made.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VlvError } from '../errors.js';
import { parseImageProcessorConfig } from '../vision/image-preprocess.js';
import type { WorkerTransform } from './transform.js';
import type { ImageTransform } from './types.js';

const side = (x: unknown, what: string): number => {
  if (!Number.isInteger(x) || (x as number) < 1)
    throw new VlvError('E_ARG', `transform ${what} must be a positive integer, got ${String(x)}`);
  return x as number;
};

export function workerTransform(t: ImageTransform): WorkerTransform {
  if (!t || typeof t !== 'object') throw new VlvError('E_ARG', 'a transform is needed');
  if (t.kind === 'resize-crop') return { kind: 'resize-crop', size: side(t.size, 'size') };
  if (t.kind !== 'vlv')
    throw new VlvError('E_ARG', `transform kind ${String((t as { kind?: unknown }).kind)}: 'vlv' or 'resize-crop'`);
  const cropSize = side(t.cropSize, 'cropSize');
  if (typeof t.florence2Folder !== 'string') throw new VlvError('E_ARG', "transform 'vlv' needs florence2Folder");
  const path = join(t.florence2Folder, 'preprocessor_config.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ? 'E_FILE' : 'E_FILE_FORMAT';
    throw new VlvError(code, `florence2 processor: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new VlvError('E_FILE_FORMAT', `${path} must hold a JSON object`);
  return { kind: 'vlv', cropSize, florence: parseImageProcessorConfig(json as Record<string, unknown>, path) };
}
