/**
 * The deterministic generator: scene `index` of a split is a function of (seed, split, index)
 * alone — each scene draws from its own SeededRandom (lib/data/random.ts), seeded by mixing the
 * seed, the split's stream number and the index — so a dataset is the same on every machine,
 * and scene i does not depend on how many scenes come before it.
 *
 * Every scene: a background uniform over four; 1–3 objects (uniform); their cells a uniform
 * choice of distinct cells; each object's size uniform, its shape and colour uniform over the
 * pairs its split allows (rejection sampling); its centre the cell's centre plus offsets drawn
 * uniformly from those that keep its box in the cell (scene.ts).
 *
 * - `train`: no held-out object (splits.ts).
 * - `scenes`: the same distribution as train drawn from another seed stream; a scene whose
 *   caption equals the caption of one of the train scenes 0 … excludeTrain-1 of the same seed
 *   (default: the same count) is redrawn (from the scene's own stream, so still deterministic).
 *   Identity is the caption: two scenes that differ only by jitter are the same scene.
 * - `combos`: at least one held-out object: one of the five held-out kinds (the four pairs,
 *   a circle in the center) picked uniformly and placed (in a random one of the scene's cells;
 *   in the center for the circle), the other objects unrestricted.
 */
import { VlvError } from '../errors.js';
import { SeededRandom } from '../data/random.js';
import { worldCaption } from './caption.js';
import { gridCentre, jitterOffsets, type PlacedWorldObject, type WorldObject, type WorldScene } from './scene.js';
import { HELD_OUT_COMBOS, WORLD_SPLITS, isHeldOutObject, type WorldSplit } from './splits.js';
import {
  CENTER_CELL,
  WORLD_BACKGROUNDS,
  WORLD_CELLS,
  WORLD_COLOURS,
  WORLD_MAX_OBJECTS,
  WORLD_SHAPES,
  WORLD_SIZES,
  type WorldCell,
} from './spec.js';

/** Each split's seed stream. */
const STREAM: Readonly<Record<WorldSplit, number>> = { train: 1, scenes: 2, combos: 3 };

/** murmur3's 32-bit finaliser. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The random stream of scene `index` of a split (any safe-integer seed, index >= 0). */
export function sceneRandom(seed: number, split: WorldSplit, index: number): SeededRandom {
  if (!Number.isSafeInteger(seed)) throw new VlvError('E_ARG', `a world seed must be a safe integer, got ${seed}`);
  if (!Number.isSafeInteger(index) || index < 0)
    throw new VlvError('E_ARG', `a scene index must be a non-negative integer, got ${index}`);
  let h = fmix32((seed >>> 0) ^ 0x3c6ef372);
  h = fmix32(h ^ (Math.floor(seed / 2 ** 32) >>> 0));
  h = fmix32(h ^ Math.imul(STREAM[split], 0x9e3779b9));
  h = fmix32(h ^ (index >>> 0));
  h = fmix32(h ^ (Math.floor(index / 2 ** 32) >>> 0));
  return new SeededRandom(h);
}

const pick = <T>(rng: SeededRandom, list: readonly T[]): T => list[rng.below(list.length)]!;

/** `k` distinct cells, uniformly, in reading order. */
function pickCells(rng: SeededRandom, k: number, required?: WorldCell): WorldCell[] {
  const pool = WORLD_CELLS.filter((c) => c !== required);
  const out: WorldCell[] = required === undefined ? [] : [required];
  while (out.length < k) out.push(pool.splice(rng.below(pool.length), 1)[0]!);
  return out.sort((a, b) => a - b);
}

function place(rng: SeededRandom, o: WorldObject): PlacedWorldObject {
  const dx = pick(rng, jitterOffsets(o.cell % 3, o.size));
  const dy = pick(rng, jitterOffsets(Math.floor(o.cell / 3), o.size));
  return { ...o, x: gridCentre(o.cell % 3) + dx, y: gridCentre(Math.floor(o.cell / 3)) + dy };
}

/** An object in `cell`: size uniform, shape and colour uniform over the allowed pairs. */
function drawObject(rng: SeededRandom, cell: WorldCell, trainRules: boolean): WorldObject {
  const size = pick(rng, WORLD_SIZES);
  for (;;) {
    const o: WorldObject = { shape: pick(rng, WORLD_SHAPES), colour: pick(rng, WORLD_COLOURS), size, cell };
    if (!trainRules || !isHeldOutObject(o)) return o;
  }
}

function drawTrainScene(rng: SeededRandom): WorldScene {
  const background = pick(rng, WORLD_BACKGROUNDS);
  const cells = pickCells(rng, 1 + rng.below(WORLD_MAX_OBJECTS));
  return { background, objects: cells.map((c) => place(rng, drawObject(rng, c, true))) };
}

function drawCombosScene(rng: SeededRandom): WorldScene {
  const background = pick(rng, WORLD_BACKGROUNDS);
  const k = 1 + rng.below(WORLD_MAX_OBJECTS);
  const kind = rng.below(HELD_OUT_COMBOS.length + 1);
  const centerCircle = kind === HELD_OUT_COMBOS.length;
  const cells = pickCells(rng, k, centerCircle ? CENTER_CELL : undefined);
  const anchorCell = centerCircle ? CENTER_CELL : cells[rng.below(k)]!;
  const objects = cells.map((c) => {
    if (c !== anchorCell) return place(rng, drawObject(rng, c, false));
    const size = pick(rng, WORLD_SIZES);
    const pair = centerCircle ? { shape: 'circle' as const, colour: pick(rng, WORLD_COLOURS) } : HELD_OUT_COMBOS[kind]!;
    return place(rng, { shape: pair.shape, colour: pair.colour, size, cell: c });
  });
  return { background, objects };
}

export interface WorldSceneOptions {
  /** `scenes` only: redraw a scene whose caption is that of a train scene 0 … excludeTrain-1 (same seed). */
  excludeTrain?: number;
}

/** The captions of train scenes 0 … n-1 of a seed. */
export function trainCaptions(seed: number, n: number): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < n; i++) out.add(worldCaption(drawTrainScene(sceneRandom(seed, 'train', i))));
  return out;
}

const MAX_REDRAWS = 10_000;

function drawScene(split: WorldSplit, seed: number, index: number, exclude: ReadonlySet<string> | null): WorldScene {
  const rng = sceneRandom(seed, split, index);
  switch (split) {
    case 'train':
      return drawTrainScene(rng);
    case 'combos':
      return drawCombosScene(rng);
    case 'scenes':
      for (let i = 0; i < MAX_REDRAWS; i++) {
        const s = drawTrainScene(rng);
        if (!exclude?.has(worldCaption(s))) return s;
      }
      throw new VlvError('E_INTERNAL', `scene ${index}: no held-out scene after ${MAX_REDRAWS} draws`);
  }
}

function checkSplit(split: string): asserts split is WorldSplit {
  if (!(WORLD_SPLITS as readonly string[]).includes(split))
    throw new VlvError('E_ARG', `a world split is ${WORLD_SPLITS.join(' | ')}, got ${JSON.stringify(split)}`);
}

function checkCount(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new VlvError('E_ARG', `${name} must be a non-negative integer, got ${n}`);
}

/**
 * Scene `index` of `split` for `seed`. For `scenes`, `excludeTrain` (default index + 1) says
 * which train scenes it must differ from; generateWorldScenes shares that work across a range.
 */
export function generateWorldScene(
  split: WorldSplit,
  seed: number,
  index: number,
  opts: WorldSceneOptions = {},
): WorldScene {
  checkSplit(split);
  const excludeTrain = opts.excludeTrain ?? index + 1;
  checkCount('excludeTrain', excludeTrain);
  const exclude = split === 'scenes' ? trainCaptions(seed, excludeTrain) : null;
  return drawScene(split, seed, index, exclude);
}

/** Scenes 0 … n-1 of `split` for `seed` (for `scenes`, excludeTrain defaults to n). */
export function generateWorldScenes(
  split: WorldSplit,
  seed: number,
  n: number,
  opts: WorldSceneOptions = {},
): WorldScene[] {
  checkSplit(split);
  checkCount('n', n);
  const excludeTrain = opts.excludeTrain ?? n;
  checkCount('excludeTrain', excludeTrain);
  const exclude = split === 'scenes' ? trainCaptions(seed, excludeTrain) : null;
  const out: WorldScene[] = [];
  for (let i = 0; i < n; i++) out.push(drawScene(split, seed, i, exclude));
  return out;
}
