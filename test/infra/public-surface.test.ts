// The package's entry points: `vlv` (lib/index.ts) for users, `vlv/testing` (lib/testing.ts)
// for checks against references; package.json maps both to their compiled files.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as root from '../../lib/index.js';
import * as testing from '../../lib/testing.js';

const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {
  exports: Record<string, { types: string; default: string }>;
};

test('package.json exports vlv and vlv/testing from dist/', (t) => {
  t.deepEqual(pkg.exports['.'], { types: './dist/index.d.ts', default: './dist/index.js' });
  t.deepEqual(pkg.exports['./testing'], { types: './dist/testing.d.ts', default: './dist/testing.js' });
});

test('the conformance runner and its comparison live in vlv/testing, not in the root API', (t) => {
  t.is(typeof testing.runConformance, 'function');
  t.deepEqual(testing.compareValues([1, 2], [1, 2]), { rel: 0, maxAbs: 0 });
  for (const name of ['runConformance', 'compareValues', 'toleranceFor']) t.false(name in root, name);
});

test('the VLV pipelines and their pieces are in the root API', (t) => {
  for (const name of [
    'VlvModel',
    'resolveVlvFolder',
    'embed',
    'caption',
    'captionStream',
    'reconstruct',
    'readImage',
    'stage1Crop',
    'processCaption',
    'VlvImageProcessor',
    'unconditionalIds',
  ])
    t.is(typeof (root as Record<string, unknown>)[name], 'function', name);
  t.is(root.VLV_PROMPT, '<MORE_DETAILED_CAPTION>');
  t.is(root.VLV_IMAGE_SIZE, 384);
});

test('the training data (lib/data/) is in the root API', (t) => {
  for (const name of ['createDataLoader', 'imageFolder', 'captionFile', 'webDataset', 'openDataSource', 'expandBraces'])
    t.is(typeof (root as Record<string, unknown>)[name], 'function', name);
  // Internals stay internal: the worker pool, the order, the PRNG.
  for (const name of ['DecodePool', 'sampleOrder', 'SeededRandom', 'applyTransform']) t.false(name in root, name);
});

test('training is in the root API: train(kind, options, { signal, onProgress }) and the stages', (t) => {
  for (const name of [
    'train',
    'trainStage1',
    'trainStage2',
    'trainTextToImage',
    'trainVae',
    'setPathLoader',
    'listCheckpoints',
    'readCheckpoint',
    'readState',
    'lrAt',
    'AdamW',
  ])
    t.is(typeof (root as Record<string, unknown>)[name], 'function', name);
  t.deepEqual(root.TRAIN_KINDS, ['stage1', 'stage2', 't2i', 'vae']);
  t.deepEqual(root.T2I_PARTS, ['unet', 'text_encoder']);
});

test('the generated world (lib/world/) is in the root API', (t) => {
  for (const name of [
    'generateWorldScene',
    'generateWorldScenes',
    'worldCaption',
    'parseWorldCaption',
    'placeWorldScene',
    'describeWorldScene',
    'checkWorldScene',
    'worldSceneSvg',
    'renderWorldScene',
    'writeWorld',
    'writeWorldScenes',
    'writeWorldSamples',
    'isHeldOutCombo',
    'isHeldOutObject',
    'isTrainScene',
    'cellCentre',
  ])
    t.is(typeof (root as Record<string, unknown>)[name], 'function', name);
  t.deepEqual(root.WORLD_SPLITS, ['train', 'scenes', 'combos']);
  t.is(root.WORLD_IMAGE_SIZE, 64);
  t.is(root.HELD_OUT_COMBOS.length, 4);
  // The generator's internals stay internal.
  for (const name of ['sceneRandom', 'trainCaptions', 'jitterOffsets', 'gridCentre']) t.false(name in root, name);
});
