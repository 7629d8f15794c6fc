/**
 * The generated world's fixed vocabulary (issue 14, "The world"): 64×64 RGB images, one of four
 * backgrounds, 1–3 objects each in its own cell of a 3×3 grid, five shapes, two sizes, eight
 * colours, and the words a caption uses for each. Everything else in lib/world/ reads these
 * tables, so the generator, the renderer, the captions and the parser cannot disagree.
 */

/** The image side in pixels. */
export const WORLD_IMAGE_SIZE = 64;

export type WorldRgb = readonly [number, number, number];

export const WORLD_BACKGROUNDS = ['white', 'gray', 'black', 'cream'] as const;
export type WorldBackground = (typeof WORLD_BACKGROUNDS)[number];
export const WORLD_BACKGROUND_RGB: Readonly<Record<WorldBackground, WorldRgb>> = {
  white: [255, 255, 255],
  gray: [150, 150, 150],
  black: [0, 0, 0],
  cream: [245, 235, 200],
};

export const WORLD_SHAPES = ['circle', 'square', 'triangle', 'star', 'ring'] as const;
export type WorldShape = (typeof WORLD_SHAPES)[number];

export const WORLD_SIZES = ['small', 'large'] as const;
export type WorldSize = (typeof WORLD_SIZES)[number];
/** The side of the box each size fits in, in pixels. */
export const WORLD_SIZE_PX: Readonly<Record<WorldSize, number>> = { small: 10, large: 18 };

export const WORLD_COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'brown'] as const;
export type WorldColour = (typeof WORLD_COLOURS)[number];
export const WORLD_COLOUR_RGB: Readonly<Record<WorldColour, WorldRgb>> = {
  red: [220, 40, 40],
  orange: [245, 140, 20],
  yellow: [240, 220, 40],
  green: [40, 170, 70],
  blue: [40, 90, 220],
  purple: [140, 60, 190],
  pink: [245, 130, 190],
  brown: [130, 80, 40],
};

/** A cell of the 3×3 grid in reading order: 0 top left … 4 center … 8 bottom right (row * 3 + column). */
export type WorldCell = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;
export const WORLD_CELLS: readonly WorldCell[] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
/** The center cell. */
export const CENTER_CELL: WorldCell = 4;

/** Each cell's phrase in a caption, by cell index. */
export const WORLD_CELL_PHRASES: Readonly<Record<WorldCell, string>> = {
  0: 'at the top left',
  1: 'at the top',
  2: 'at the top right',
  3: 'at the left',
  4: 'in the center',
  5: 'at the right',
  6: 'at the bottom left',
  7: 'at the bottom',
  8: 'at the bottom right',
};

/** The most objects a scene holds. */
export const WORLD_MAX_OBJECTS = 3;
