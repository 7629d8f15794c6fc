/**
 * Writing a dataset of the world: `<out>/images/<index>.png` (five digits, more when needed) and
 * `<out>/captions.jsonl`, one `{"image": "images/00000.png", "caption": "..."}` per line in index
 * order — the pairs format lib/data reads (openDataSource on the .jsonl). The JSONL is written
 * last and atomically, so a folder with a captions.jsonl is complete.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallOptions } from '../call-options.js';
import { VlvError } from '../errors.js';
import { writeFileAtomic } from '../train/atomic.js';
import { worldCaption } from './caption.js';
import { generateWorldScenes } from './generate.js';
import { parseWorldCaption } from './parse.js';
import { renderWorldScene } from './render.js';
import { WORLD_SAMPLE_CAPTIONS } from './samples.js';
import { placeWorldScene, type WorldScene } from './scene.js';
import type { WorldSplit } from './splits.js';

export interface WriteWorldOptions extends CallOptions {
  /** The folder to fill (created). */
  out: string;
  /** How many scenes. */
  n: number;
  split: WorldSplit;
  seed: number;
  /** `scenes` only: the train scenes to differ from (0 … excludeTrain-1; default n). */
  excludeTrain?: number;
}

export interface WrittenWorld {
  /** The captions file (`<out>/captions.jsonl`). */
  captions: string;
  /** The scenes written, by index. */
  scenes: WorldScene[];
}

/** Scenes rendered at once (sharp renders off the JS thread). */
const WINDOW = 8;

/** Renders `scenes` to `<out>/images/` and lists them with their captions in `<out>/captions.jsonl`. */
export async function writeWorldScenes(out: string, scenes: WorldScene[], opts: CallOptions = {}): Promise<string> {
  await mkdir(join(out, 'images'), { recursive: true });
  const digits = Math.max(5, String(Math.max(0, scenes.length - 1)).length);
  const lines: string[] = [];
  for (let start = 0; start < scenes.length; start += WINDOW) {
    if (opts.signal?.aborted)
      throw new VlvError('E_ABORTED', `world: aborted after ${start} of ${scenes.length} scenes`);
    const chunk = scenes.slice(start, start + WINDOW);
    await Promise.all(
      chunk.map(async (scene, j) => {
        const image = `images/${String(start + j).padStart(digits, '0')}.png`;
        await writeFile(join(out, image), await renderWorldScene(scene));
        lines[start + j] = JSON.stringify({ image, caption: worldCaption(scene) });
      }),
    );
    opts.onProgress?.({ stage: 'world', done: start + chunk.length, total: scenes.length });
  }
  const captions = join(out, 'captions.jsonl');
  writeFileAtomic(captions, lines.map((l) => `${l}\n`).join(''));
  return captions;
}

/** Generates scenes 0 … n-1 of a split and writes them (writeWorldScenes). */
export async function writeWorld(opts: WriteWorldOptions): Promise<WrittenWorld> {
  if (!Number.isSafeInteger(opts.n) || opts.n < 1)
    throw new VlvError('E_ARG', `n must be a positive integer, got ${opts.n}`);
  const scenes = generateWorldScenes(
    opts.split,
    opts.seed,
    opts.n,
    opts.excludeTrain === undefined ? {} : { excludeTrain: opts.excludeTrain },
  );
  const captions = await writeWorldScenes(opts.out, scenes, opts);
  return { captions, scenes };
}

/** The fixed sample scenes (samples.ts), written as a dataset. */
export async function writeWorldSamples(out: string, opts: CallOptions = {}): Promise<WrittenWorld> {
  const scenes = WORLD_SAMPLE_CAPTIONS.map((c) => placeWorldScene(parseWorldCaption(c)));
  return { captions: await writeWorldScenes(out, scenes, opts), scenes };
}
