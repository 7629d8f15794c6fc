/**
 * The fixed sample scenes (`vlv world sample`): the spec's example captions and a few more that
 * between them show every shape, colour, size, background and cell, drawn at the cells' centres.
 */
export const WORLD_SAMPLE_CAPTIONS: readonly string[] = [
  'a large red circle at the top left, a small blue square in the center and a small green star at the bottom, on a cream background',
  'a large red circle at the top left and a small blue square in the center, on a gray background',
  'a large red circle at the top left, on a gray background',
  'a large yellow triangle at the top right and a small purple ring at the left, on a black background',
  'a small orange star at the top, a large pink circle at the right and a large brown square at the bottom left, on a white background',
  'a small green triangle at the bottom right, on a black background',
  'a large blue ring at the top left, a small red triangle in the center and a large yellow star at the bottom right, on a white background',
  'a large brown ring at the top, a small pink star at the bottom left and a large orange square at the bottom, on a cream background',
];
