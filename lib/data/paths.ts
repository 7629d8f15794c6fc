/** File checks shared by the sources: a missing path is E_FILE when the source is made. */
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { VlvError } from '../errors.js';

/** The image file extensions the sources take (sharp decodes each; GIF: its first frame). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.avif', '.tif', '.tiff', '.gif'];

/** stat(path), or E_FILE naming `what` and the path. */
export async function statOrThrow(path: string, what: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file or folder' : err.message;
    throw new VlvError('E_FILE', `${what} ${path}: ${why}`, { cause: e });
  }
}

/** Plain code-unit order (not the locale's): the same on every machine. */
export const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
