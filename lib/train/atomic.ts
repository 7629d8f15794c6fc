/**
 * Files and folders that are never seen half-written: a file is written to a temporary name in
 * its folder, fsynced, renamed over the target, and the folder fsynced; a checkpoint folder is
 * filled under a temporary name and renamed whole; a folder is removed by renaming it away first.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** fsync of a folder: its entries (a rename into it) are on disk. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to `path` atomically (temporary file in the same folder, fsync, rename, fsync of the folder). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const fd = openSync(tmp, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** A temporary folder beside `final` for filling a checkpoint: `.<name>.tmp-<pid>` (emptied first). */
export async function stagingDir(final: string): Promise<string> {
  const tmp = join(dirname(final), `.${basename(final)}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  return tmp;
}

/** Publishes a filled staging folder as `final` (replacing an older one of that name): fsync, rename, fsync. */
export async function publishDir(staging: string, final: string): Promise<void> {
  fsyncDir(staging);
  const parent = dirname(final);
  try {
    await rename(staging, final);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    await removeDir(final);
    await rename(staging, final);
  }
  fsyncDir(parent);
}

/** Removes a folder so that it is never seen half-removed under its name: rename away, fsync, then delete. */
export async function removeDir(dir: string): Promise<void> {
  const trash = join(dirname(dir), `.${basename(dir)}.trash-${process.pid}-${Date.now()}`);
  try {
    await rename(dir, trash);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  fsyncDir(dirname(dir));
  await rm(trash, { recursive: true, force: true });
}

/** Deletes what interrupted writers left in `dir` (hidden `.*.tmp-*` and `.*.trash-*` entries). */
export async function sweepLeftovers(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const n of names)
    if (n.startsWith('.') && /\.(tmp|trash)-\d+/.test(n)) await rm(join(dir, n), { recursive: true, force: true });
}
