// Captions of the world (lib/world/caption.ts) and their parser (lib/world/parse.ts): the spec's
// examples word for word, parse(caption(scene)) = the scene without its jitter on thousands of
// scenes of every split, and E_ARG for anything outside the grammar.
import test from 'ava';
import {
  WORLD_BACKGROUNDS,
  WORLD_CELLS,
  WORLD_COLOURS,
  WORLD_SHAPES,
  WORLD_CELL_PHRASES,
  WORLD_SAMPLE_CAPTIONS,
  WORLD_SPLITS,
  describeWorldScene,
  generateWorldScenes,
  parseWorldCaption,
  placeWorldScene,
  worldCaption,
  type VlvError,
  type WorldSceneDescription,
} from '../../lib/index.js';

const spec: { scene: WorldSceneDescription; caption: string }[] = [
  {
    scene: {
      background: 'cream',
      objects: [
        { shape: 'circle', colour: 'red', size: 'large', cell: 0 },
        { shape: 'square', colour: 'blue', size: 'small', cell: 4 },
        { shape: 'star', colour: 'green', size: 'small', cell: 7 },
      ],
    },
    caption:
      'a large red circle at the top left, a small blue square in the center and a small green star at the bottom, on a cream background',
  },
  {
    scene: {
      background: 'gray',
      objects: [
        { shape: 'circle', colour: 'red', size: 'large', cell: 0 },
        { shape: 'square', colour: 'blue', size: 'small', cell: 4 },
      ],
    },
    caption: 'a large red circle at the top left and a small blue square in the center, on a gray background',
  },
  {
    scene: { background: 'gray', objects: [{ shape: 'circle', colour: 'red', size: 'large', cell: 0 }] },
    caption: 'a large red circle at the top left, on a gray background',
  },
];

test("the spec's example captions, word for word", (t) => {
  for (const { scene, caption } of spec) {
    t.is(worldCaption(scene), caption);
    t.is(worldCaption(placeWorldScene(scene)), caption);
    t.deepEqual(parseWorldCaption(caption), scene);
  }
});

test('the nine cell phrases, in reading order', (t) => {
  t.deepEqual(
    WORLD_CELLS.map((c) => WORLD_CELL_PHRASES[c]),
    [
      'at the top left',
      'at the top',
      'at the top right',
      'at the left',
      'in the center',
      'at the right',
      'at the bottom left',
      'at the bottom',
      'at the bottom right',
    ],
  );
  for (const cell of WORLD_CELLS)
    t.is(
      worldCaption({ background: 'white', objects: [{ shape: 'ring', colour: 'brown', size: 'small', cell }] }),
      `a small brown ring ${WORLD_CELL_PHRASES[cell]}, on a white background`,
    );
});

test('objects are captioned in reading order whatever order the scene lists them in', (t) => {
  const [first] = spec;
  const reversed = { ...first!.scene, objects: [...first!.scene.objects].reverse() };
  t.is(worldCaption(reversed), first!.caption);
});

test('parse(caption(scene)) is the scene without its positions, on 3000 scenes of each split', (t) => {
  let checked = 0;
  for (const split of WORLD_SPLITS)
    for (const scene of generateWorldScenes(split, 3, 3000)) {
      const caption = worldCaption(scene);
      const parsed = parseWorldCaption(caption);
      t.deepEqual(parsed, describeWorldScene(scene), caption);
      t.is(worldCaption(parsed), caption);
      checked++;
    }
  t.is(checked, 9000);
});

test('the sample captions are captions of the world and show every word of it', (t) => {
  for (const c of WORLD_SAMPLE_CAPTIONS) t.is(worldCaption(parseWorldCaption(c)), c);
  const scenes = WORLD_SAMPLE_CAPTIONS.map(parseWorldCaption);
  const objects = scenes.flatMap((s) => s.objects);
  const count = (xs: unknown[]) => new Set(xs).size;
  t.is(count(scenes.map((s) => s.background)), WORLD_BACKGROUNDS.length);
  t.is(count(objects.map((o) => o.shape)), WORLD_SHAPES.length);
  t.is(count(objects.map((o) => o.colour)), WORLD_COLOURS.length);
  t.is(count(objects.map((o) => o.size)), 2);
  t.is(count(objects.map((o) => o.cell)), 9);
});

const ok = 'a large red circle at the top left and a small blue square in the center, on a gray background';
const malformed: [string, string][] = [
  ['', 'empty'],
  ['a large red circle at the top left', 'no background'],
  ['a large red circle at the top left, on a gray background.', 'trailing period'],
  ['A large red circle at the top left, on a gray background', 'capital letter'],
  ['a large red circle at the top left, on a grey background', 'unknown background'],
  ['a large red circle at the top left,  on a gray background', 'double space'],
  ['a huge red circle at the top left, on a gray background', 'unknown size'],
  ['a large teal circle at the top left, on a gray background', 'unknown colour'],
  ['a large red hexagon at the top left, on a gray background', 'unknown shape'],
  ['a large red circle at the middle, on a gray background', 'unknown cell phrase'],
  ['a large red circle in the top left, on a gray background', 'wrong preposition'],
  ['an large red circle at the top left, on a gray background', 'wrong article'],
  ['a red large circle at the top left, on a gray background', 'words out of order'],
  ['a large red circle, on a gray background', 'no cell'],
  [
    'a large red circle at the top left, a small blue square in the center, on a gray background',
    'two joined by a comma',
  ],
  [
    'a large red circle at the top left and a small blue square in the center and a small green star at the bottom, on a gray background',
    'three joined by and',
  ],
  [
    'a small blue square in the center and a large red circle at the top left, on a gray background',
    'not in reading order',
  ],
  [
    'a large red circle at the top left and a small blue square at the top left, on a gray background',
    'one cell twice',
  ],
  [
    'a large red circle at the top left, a small blue square in the center, a small green star at the bottom and a small red ring at the bottom right, on a gray background',
    'four objects',
  ],
  [', on a gray background', 'no objects'],
  [` ${ok}`, 'leading space'],
  [`${ok}\n`, 'trailing newline'],
];

test('anything outside the grammar is E_ARG naming the caption', (t) => {
  t.notThrows(() => parseWorldCaption(ok));
  t.true(malformed.length >= 10);
  for (const [caption, why] of malformed) {
    const e = t.throws<VlvError>(() => parseWorldCaption(caption), undefined, why);
    t.is(e?.name, 'VlvError', why);
    t.is(e?.code, 'E_ARG', why);
    t.true(e?.message.startsWith('not a caption of the world'), `${why}: ${e?.message}`);
  }
  t.is(t.throws(() => parseWorldCaption(42 as unknown as string))?.name, 'VlvError');
});

test('captioning something that is not a scene is E_ARG', (t) => {
  const base = spec[1]!.scene;
  const bad = [
    { ...base, background: 'green' },
    { ...base, objects: [] },
    { ...base, objects: [...base.objects, ...base.objects] },
    { ...base, objects: [base.objects[0]!, { ...base.objects[1]!, cell: 0 }] },
    { ...base, objects: [{ ...base.objects[0]!, shape: 'hexagon' }] },
    { ...base, objects: [{ ...base.objects[0]!, cell: 9 }] },
  ] as WorldSceneDescription[];
  for (const s of bad) t.is(t.throws<VlvError>(() => worldCaption(s))?.code, 'E_ARG');
});
