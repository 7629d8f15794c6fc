// The world's generator (lib/world/generate.ts): the same seed gives the same scenes, the split
// rules hold over thousands of scenes, objects sit in distinct cells within ±2 px of the cell's
// centre with their box inside the cell, and every word of the world occurs.
import test from 'ava';
import {
  CENTER_CELL,
  WORLD_BACKGROUNDS,
  WORLD_CELLS,
  WORLD_COLOURS,
  WORLD_SHAPES,
  WORLD_SIZE_PX,
  WORLD_SPLITS,
  cellCentre,
  generateWorldScene,
  generateWorldScenes,
  isHeldOutCombo,
  isHeldOutObject,
  isTrainScene,
  worldCaption,
  type WorldScene,
} from '../../lib/world/index.js';
import type { VlvError, WorldSplit } from '../../lib/index.js';

const N = 3000;
/** The distinct values, sorted (ava compares Sets in insertion order). */
const distinct = <T>(xs: Iterable<T>): T[] => [...new Set(xs)].sort();
const cache = new Map<WorldSplit, WorldScene[]>();
const scenesOf = (split: WorldSplit) => {
  if (!cache.has(split)) cache.set(split, generateWorldScenes(split, 11, N));
  return cache.get(split)!;
};

test('the same seed gives the same scenes; another seed or another split gives others', (t) => {
  for (const split of WORLD_SPLITS) {
    const a = generateWorldScenes(split, 5, 200);
    t.deepEqual(generateWorldScenes(split, 5, 200), a, split);
    const b = generateWorldScenes(split, 6, 200);
    t.true(a.filter((s, i) => worldCaption(s) === worldCaption(b[i]!)).length < 10, split);
  }
  const train = generateWorldScenes('train', 5, 200).map(worldCaption);
  const scenes = generateWorldScenes('scenes', 5, 200).map(worldCaption);
  t.true(train.filter((c, i) => c === scenes[i]).length < 10);
  // Large seeds and negative seeds are seeds too, and they differ from their low 32 bits.
  t.notDeepEqual(generateWorldScenes('train', 2 ** 40 + 5, 20), generateWorldScenes('train', 5, 20));
  t.notDeepEqual(generateWorldScenes('train', -5, 20), generateWorldScenes('train', 5, 20));
});

test('scene i depends on (seed, split, i) only: one scene alone equals its place in a range', (t) => {
  const all = generateWorldScenes('train', 9, 50);
  for (const i of [0, 7, 49]) t.deepEqual(generateWorldScene('train', 9, i), all[i]);
  t.deepEqual(generateWorldScenes('train', 9, 20), all.slice(0, 20));
  const combos = generateWorldScenes('combos', 9, 30);
  t.deepEqual(generateWorldScene('combos', 9, 29), combos[29]);
  const scenes = generateWorldScenes('scenes', 9, 30);
  t.deepEqual(generateWorldScene('scenes', 9, 12, { excludeTrain: 30 }), scenes[12]);
});

test('train and held-out scenes never hold a held-out pair or a circle in the center', (t) => {
  for (const split of ['train', 'scenes'] as const) {
    const bad = scenesOf(split).filter((s) => !isTrainScene(s));
    t.deepEqual(bad.map(worldCaption), [], split);
  }
  t.true(isHeldOutObject({ shape: 'circle', colour: 'red', cell: CENTER_CELL }));
  t.false(isHeldOutObject({ shape: 'circle', colour: 'red', cell: 0 }));
  for (const [colour, shape] of [
    ['purple', 'triangle'],
    ['orange', 'ring'],
    ['green', 'star'],
    ['pink', 'square'],
  ] as const)
    t.true(isHeldOutCombo({ colour, shape }), `${colour} ${shape}`);
});

test('every combos scene holds at least one held-out object, and each of the five kinds occurs', (t) => {
  const combos = scenesOf('combos');
  t.deepEqual(combos.filter(isTrainScene).map(worldCaption), []);
  const kinds = new Set<string>();
  for (const s of combos)
    for (const o of s.objects)
      if (isHeldOutObject(o))
        kinds.add(o.shape === 'circle' && o.cell === CENTER_CELL ? 'center circle' : `${o.colour} ${o.shape}`);
  t.deepEqual([...kinds].sort(), ['center circle', 'green star', 'orange ring', 'pink square', 'purple triangle']);
});

test('held-out scenes differ from every train scene of the same index range (by caption)', (t) => {
  const train = new Set(scenesOf('train').map(worldCaption));
  const held = scenesOf('scenes').map(worldCaption);
  t.deepEqual(
    held.filter((c) => train.has(c)),
    [],
  );
  // Without the exclusion some would coincide (one-object scenes are few): the rule does work.
  const unexcluded = generateWorldScenes('scenes', 11, N, { excludeTrain: 0 }).map(worldCaption);
  t.true(unexcluded.filter((c) => train.has(c)).length > 0);
  // A longer exclusion range: differ from train scenes 0 … 9999 too.
  const trainLong = new Set(generateWorldScenes('train', 11, 10_000).map(worldCaption));
  const heldLong = generateWorldScenes('scenes', 11, 500, { excludeTrain: 10_000 }).map(worldCaption);
  t.deepEqual(
    heldLong.filter((c) => trainLong.has(c)),
    [],
  );
});

test('1-3 objects, distinct cells in reading order, centres within ±2 px, boxes inside their cells', (t) => {
  const side = 64 / 3;
  for (const split of WORLD_SPLITS)
    for (const s of scenesOf(split)) {
      t.true(s.objects.length >= 1 && s.objects.length <= 3);
      const cells = s.objects.map((o) => o.cell);
      t.deepEqual(
        cells,
        [...new Set(cells)].sort((a, b) => a - b),
      );
      for (const o of s.objects) {
        const c = cellCentre(o.cell);
        if (Math.abs(o.x - c.x) > 2 || Math.abs(o.y - c.y) > 2) t.fail(`${worldCaption(s)}: ${o.x},${o.y}`);
        const h = WORLD_SIZE_PX[o.size] / 2;
        const col = o.cell % 3;
        const row = Math.floor(o.cell / 3);
        if (o.x - h < col * side - 1e-9 || o.x + h > (col + 1) * side + 1e-9) t.fail(`x box ${JSON.stringify(o)}`);
        if (o.y - h < row * side - 1e-9 || o.y + h > (row + 1) * side + 1e-9) t.fail(`y box ${JSON.stringify(o)}`);
      }
    }
  t.deepEqual(
    WORLD_CELLS.map((c) => cellCentre(c)),
    [11, 32, 53].flatMap((y) => [11, 32, 53].map((x) => ({ x, y }))),
  );
});

test('every background, shape, colour, size, cell, object count and jitter occurs; train holds every seen pair', (t) => {
  const train = scenesOf('train');
  const objects = train.flatMap((s) => s.objects);
  t.deepEqual(distinct(train.map((s) => s.background)), distinct(WORLD_BACKGROUNDS));
  t.deepEqual(distinct(train.map((s) => s.objects.length)), distinct([1, 2, 3]));
  t.deepEqual(distinct(objects.map((o) => o.cell)), distinct(WORLD_CELLS));
  t.deepEqual(distinct(objects.map((o) => o.size)), distinct(['small', 'large']));
  t.deepEqual(distinct(objects.map((o) => o.x - cellCentre(o.cell).x)), distinct([-2, -1, 0, 1, 2]));
  const pairs = new Set(objects.map((o) => `${o.colour} ${o.shape}`));
  for (const colour of WORLD_COLOURS)
    for (const shape of WORLD_SHAPES) t.is(pairs.has(`${colour} ${shape}`), !isHeldOutCombo({ colour, shape }));
  // Circles occur in every cell but the center.
  t.deepEqual(
    distinct(objects.filter((o) => o.shape === 'circle').map((o) => o.cell)),
    distinct(WORLD_CELLS.filter((c) => c !== CENTER_CELL)),
  );
  // Roughly uniform object counts (1000 each of 3000, give or take).
  for (const k of [1, 2, 3]) {
    const n = train.filter((s) => s.objects.length === k).length;
    t.true(n > 850 && n < 1150, `${k} objects: ${n}`);
  }
});

test('bad arguments are E_ARG', (t) => {
  const bad = [
    () => generateWorldScenes('validation' as WorldSplit, 1, 3),
    () => generateWorldScenes('train', 1.5, 3),
    () => generateWorldScenes('train', 1, -1),
    () => generateWorldScene('train', 1, -1),
    () => generateWorldScenes('scenes', 1, 3, { excludeTrain: -2 }),
  ];
  for (const f of bad) t.is(t.throws<VlvError>(f)?.code, 'E_ARG');
});
