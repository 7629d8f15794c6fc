/** The generated world of issue 14: scenes, the generator and its splits, rendering, captions and their parser, datasets. */
export * from './spec.js';
export {
  placeWorldScene,
  describeWorldScene,
  checkWorldScene,
  cellCentre,
  WORLD_JITTER_PX,
  type WorldObject,
  type WorldSceneDescription,
  type PlacedWorldObject,
  type WorldScene,
} from './scene.js';
export {
  WORLD_SPLITS,
  HELD_OUT_COMBOS,
  isHeldOutCombo,
  isHeldOutObject,
  isTrainScene,
  type WorldSplit,
} from './splits.js';
export { generateWorldScene, generateWorldScenes, type WorldSceneOptions } from './generate.js';
export { worldCaption } from './caption.js';
export { parseWorldCaption } from './parse.js';
export { worldSceneSvg, renderWorldScene } from './render.js';
export { WORLD_SAMPLE_CAPTIONS } from './samples.js';
export { writeWorld, writeWorldScenes, writeWorldSamples, type WriteWorldOptions, type WrittenWorld } from './write.js';
