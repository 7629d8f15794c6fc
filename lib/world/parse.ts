/**
 * A caption back into the scene it describes (caption.ts's grammar, exactly): the same words,
 * single spaces, lower case, no trailing punctuation, 1–3 objects in reading order, each cell
 * once. Anything else is E_ARG saying where it left the grammar. Positions are not in a caption:
 * placeWorldScene (scene.ts) puts each object at its cell's centre.
 */
import { VlvError } from '../errors.js';
import type { WorldObject, WorldSceneDescription } from './scene.js';
import {
  WORLD_BACKGROUNDS,
  WORLD_CELLS,
  WORLD_CELL_PHRASES,
  WORLD_COLOURS,
  WORLD_MAX_OBJECTS,
  WORLD_SHAPES,
  WORLD_SIZES,
  type WorldBackground,
  type WorldCell,
  type WorldColour,
  type WorldShape,
  type WorldSize,
} from './spec.js';

const alt = (words: readonly string[]) => words.join('|');
const OBJECT_RE = new RegExp(
  `^a (${alt(WORLD_SIZES)}) (${alt(WORLD_COLOURS)}) (${alt(WORLD_SHAPES)}) (${alt(Object.values(WORLD_CELL_PHRASES))})$`,
);
const SUFFIX_RE = new RegExp(`, on a (${alt(WORLD_BACKGROUNDS)}) background$`);
/** The separators between 1, 2 and 3 object phrases. */
const SEPARATORS: readonly (readonly string[])[] = [[], [' and '], [', ', ' and ']];

const cellOfPhrase = new Map<string, WorldCell>(WORLD_CELLS.map((c) => [WORLD_CELL_PHRASES[c], c]));

function fail(caption: string, why: string): never {
  throw new VlvError('E_ARG', `not a caption of the world (${why}): ${JSON.stringify(caption)}`);
}

function parseObject(caption: string, phrase: string): WorldObject {
  const m = OBJECT_RE.exec(phrase);
  if (!m) fail(caption, `'${phrase}' is not 'a <size> <colour> <shape> <where>'`);
  return {
    shape: m[3] as WorldShape,
    colour: m[2] as WorldColour,
    size: m[1] as WorldSize,
    cell: cellOfPhrase.get(m[4]!)!,
  };
}

/** The scene a caption describes; E_ARG on anything outside the grammar. */
export function parseWorldCaption(caption: string): WorldSceneDescription {
  if (typeof caption !== 'string') throw new VlvError('E_ARG', 'a world caption must be a string');
  const suffix = SUFFIX_RE.exec(caption);
  if (!suffix) fail(caption, "it does not end in ', on a <white|gray|black|cream> background'");
  const list = caption.slice(0, suffix.index);
  // Split into phrases and the separators between them (object phrases hold neither ', ' nor ' and ').
  const pieces = list.split(/(, | and )/);
  const phrases = pieces.filter((_, i) => i % 2 === 0);
  const separators = pieces.filter((_, i) => i % 2 === 1);
  if (phrases.length > WORLD_MAX_OBJECTS) fail(caption, `more than ${WORLD_MAX_OBJECTS} objects`);
  const expected = SEPARATORS[phrases.length - 1]!;
  if (separators.join('|') !== expected.join('|'))
    fail(
      caption,
      phrases.length === 1 ? 'no objects' : `${phrases.length} objects are joined as 'A, B and C' / 'A and B'`,
    );
  const objects = phrases.map((p) => parseObject(caption, p));
  for (let i = 1; i < objects.length; i++) {
    if (objects[i]!.cell === objects[i - 1]!.cell) fail(caption, 'two objects in one cell');
    if (objects[i]!.cell < objects[i - 1]!.cell) fail(caption, 'objects not in reading order');
  }
  return { background: suffix[1] as WorldBackground, objects };
}
