/**
 * An image folder as a dataset: every file under it (recursively) whose extension is an image's
 * (.jpg .jpeg .png .webp .avif .tif .tiff .gif, any case), sorted by its path relative to the
 * folder in plain code-unit order, so the list is the same on every machine. Names starting with
 * '.' are passed over; symbolic links to files are followed, links to folders are not (no
 * cycles). No captions.
 */
import { readdir } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';
import { VlvError } from '../errors.js';
import { byCodeUnits, IMAGE_EXTENSIONS, statOrThrow } from './paths.js';
import type { ListedSource } from './types.js';

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) await walk(path, out);
    else if (IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase())) {
      if (e.isFile()) out.push(path);
      else if (e.isSymbolicLink()) {
        const st = await statOrThrow(path, 'image link').catch(() => undefined);
        if (st?.isFile()) out.push(path);
      }
    }
  }
}

/** Lists an image folder (E_FILE when it is missing, not a folder, or holds no image). */
export async function imageFolder(folder: string): Promise<ListedSource> {
  const dir = resolve(folder);
  const st = await statOrThrow(dir, 'image folder');
  if (!st.isDirectory()) throw new VlvError('E_FILE', `image folder ${dir}: not a folder`);
  const files: string[] = [];
  await walk(dir, files);
  if (files.length === 0)
    throw new VlvError('E_FILE', `image folder ${dir}: no images (${IMAGE_EXTENSIONS.join(' ')})`);
  const rel = files.map((f) => ({ f, r: relative(dir, f) })).sort((a, b) => byCodeUnits(a.r, b.r));
  return { kind: 'listed', name: dir, captioned: false, records: rel.map(({ f }) => ({ key: f, file: f })) };
}
