/**
 * The held-out rules (issue 14): four colour+shape pairs — purple triangle, orange ring, green
 * star, pink square — and a circle in the center never occur in the `train` split; every scene
 * of the `combos` split holds at least one of them. `scenes` holds new scenes of the seen
 * combinations (train's rules, another seed stream).
 */
import type { WorldObject, WorldSceneDescription } from './scene.js';
import { CENTER_CELL, type WorldColour, type WorldShape } from './spec.js';

export const WORLD_SPLITS = ['train', 'scenes', 'combos'] as const;
export type WorldSplit = (typeof WORLD_SPLITS)[number];

/** The colour+shape pairs held out of training. */
export const HELD_OUT_COMBOS: readonly { colour: WorldColour; shape: WorldShape }[] = [
  { colour: 'purple', shape: 'triangle' },
  { colour: 'orange', shape: 'ring' },
  { colour: 'green', shape: 'star' },
  { colour: 'pink', shape: 'square' },
];

/** A held-out colour+shape pair (any cell). */
export function isHeldOutCombo(o: Pick<WorldObject, 'colour' | 'shape'>): boolean {
  return HELD_OUT_COMBOS.some((c) => c.colour === o.colour && c.shape === o.shape);
}

/** An object that never occurs in training: a held-out pair, or a circle in the center. */
export function isHeldOutObject(o: Pick<WorldObject, 'colour' | 'shape' | 'cell'>): boolean {
  return isHeldOutCombo(o) || (o.shape === 'circle' && o.cell === CENTER_CELL);
}

/** A scene `train` (and `scenes`) may hold: none of its objects is held out. */
export function isTrainScene(s: WorldSceneDescription): boolean {
  return !s.objects.some(isHeldOutObject);
}
