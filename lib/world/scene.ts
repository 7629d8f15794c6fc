/**
 * Scenes: what a caption says (the background and each object's shape, colour, size and cell)
 * and, for a drawn scene, where each object's centre lies. Geometry of the grid: a cell's centre
 * is its exact centre rounded to the pixel grid (11, 32, 53 px on each axis), and an object's
 * centre is that ±2 px (whole pixels), never so far that its size box leaves its cell: a large
 * object (18 px box in a 21⅓ px cell) has less room than a small one. So no two objects'
 * boxes overlap and every box lies inside the image.
 */
import { VlvError } from '../errors.js';
import {
  WORLD_BACKGROUNDS,
  WORLD_CELLS,
  WORLD_COLOURS,
  WORLD_IMAGE_SIZE,
  WORLD_MAX_OBJECTS,
  WORLD_SHAPES,
  WORLD_SIZES,
  WORLD_SIZE_PX,
  type WorldBackground,
  type WorldCell,
  type WorldColour,
  type WorldShape,
  type WorldSize,
} from './spec.js';

/** One object as a caption names it. */
export interface WorldObject {
  shape: WorldShape;
  colour: WorldColour;
  size: WorldSize;
  cell: WorldCell;
}

/** A scene as a caption names it: objects in reading order (ascending cell), each cell once. */
export interface WorldSceneDescription {
  background: WorldBackground;
  objects: WorldObject[];
}

/** An object placed in the image: its centre (x right, y down, in pixels). */
export interface PlacedWorldObject extends WorldObject {
  x: number;
  y: number;
}

/** A scene ready to draw. */
export interface WorldScene extends WorldSceneDescription {
  objects: PlacedWorldObject[];
}

/** The jitter bound: an object's centre is within this many pixels of its cell's centre on each axis. */
export const WORLD_JITTER_PX = 2;

const CELL_SIDE = WORLD_IMAGE_SIZE / 3;

/** The centre of row or column `i` (0..2) on the pixel grid: 11, 32, 53. */
export function gridCentre(i: number): number {
  return Math.round((i + 0.5) * CELL_SIDE);
}

/** A cell's centre in pixels. */
export function cellCentre(cell: WorldCell): { x: number; y: number } {
  return { x: gridCentre(cell % 3), y: gridCentre(Math.floor(cell / 3)) };
}

/**
 * The offsets (whole pixels, within ±WORLD_JITTER_PX) an object of `size` may take from the
 * centre of row or column `i`, keeping its box inside that row or column.
 */
export function jitterOffsets(i: number, size: WorldSize): number[] {
  const half = WORLD_SIZE_PX[size] / 2;
  const c = gridCentre(i);
  const lo = i * CELL_SIDE;
  const hi = (i + 1) * CELL_SIDE;
  const out: number[] = [];
  for (let d = -WORLD_JITTER_PX; d <= WORLD_JITTER_PX; d++)
    if (c + d - half >= lo - 1e-9 && c + d + half <= hi + 1e-9) out.push(d);
  return out;
}

/** A description placed with every object at its cell's centre (no jitter). */
export function placeWorldScene(d: WorldSceneDescription): WorldScene {
  checkWorldScene(d);
  return {
    background: d.background,
    objects: sortByCell(d.objects).map((o) => ({
      shape: o.shape,
      colour: o.colour,
      size: o.size,
      cell: o.cell,
      ...cellCentre(o.cell),
    })),
  };
}

/** What a caption of the scene says: the scene without positions, objects in reading order. */
export function describeWorldScene(s: WorldSceneDescription): WorldSceneDescription {
  return {
    background: s.background,
    objects: sortByCell(s.objects).map((o) => ({ shape: o.shape, colour: o.colour, size: o.size, cell: o.cell })),
  };
}

function sortByCell<T extends WorldObject>(objects: readonly T[]): T[] {
  return [...objects].sort((a, b) => a.cell - b.cell);
}

const oneOf = (list: readonly unknown[], v: unknown) => list.includes(v);

/**
 * Throws E_ARG unless `s` is a scene of the world: a known background; 1–3 objects of known
 * shape, colour and size, each in its own cell; positions finite numbers (required when `placed`).
 */
export function checkWorldScene(s: WorldSceneDescription, placed = false): void {
  if (!s || typeof s !== 'object') throw new VlvError('E_ARG', 'a world scene must be an object');
  if (!oneOf(WORLD_BACKGROUNDS, s.background))
    throw new VlvError('E_ARG', `world scene: unknown background ${JSON.stringify(s.background)}`);
  if (!Array.isArray(s.objects) || s.objects.length < 1 || s.objects.length > WORLD_MAX_OBJECTS)
    throw new VlvError('E_ARG', `world scene: 1 to ${WORLD_MAX_OBJECTS} objects`);
  const seen = new Set<number>();
  for (const o of s.objects as (WorldObject & Partial<PlacedWorldObject>)[]) {
    if (!oneOf(WORLD_SHAPES, o.shape))
      throw new VlvError('E_ARG', `world scene: unknown shape ${JSON.stringify(o.shape)}`);
    if (!oneOf(WORLD_COLOURS, o.colour))
      throw new VlvError('E_ARG', `world scene: unknown colour ${JSON.stringify(o.colour)}`);
    if (!oneOf(WORLD_SIZES, o.size)) throw new VlvError('E_ARG', `world scene: unknown size ${JSON.stringify(o.size)}`);
    if (!oneOf(WORLD_CELLS, o.cell)) throw new VlvError('E_ARG', `world scene: unknown cell ${JSON.stringify(o.cell)}`);
    if (seen.has(o.cell)) throw new VlvError('E_ARG', `world scene: two objects in cell ${o.cell}`);
    seen.add(o.cell);
    for (const k of ['x', 'y'] as const)
      if ((placed || o[k] !== undefined) && !Number.isFinite(o[k]))
        throw new VlvError('E_ARG', `world scene: object ${k} must be a finite number`);
  }
}
