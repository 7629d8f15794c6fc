/**
 * The caption of a scene, by the grammar of issue 14: each object as `a <size> <colour> <shape>
 * <cell phrase>`, in reading order (top row first, left to right); one object alone, two joined
 * by ` and `, three as `A, B and C`; then `, on a <background> background`. For example
 * `a large red circle at the top left, a small blue square in the center and a small green star
 * at the bottom, on a cream background`.
 */
import { checkWorldScene, describeWorldScene, type WorldObject, type WorldSceneDescription } from './scene.js';
import { WORLD_CELL_PHRASES } from './spec.js';

/** One object's phrase: `a large red circle at the top left`. */
export function worldObjectPhrase(o: WorldObject): string {
  return `a ${o.size} ${o.colour} ${o.shape} ${WORLD_CELL_PHRASES[o.cell]}`;
}

/** `A`, `A and B`, `A, B and C`. */
export function joinPhrases(parts: readonly string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]!}`;
}

/** The caption of a scene (E_ARG when it is not a scene of the world). */
export function worldCaption(scene: WorldSceneDescription): string {
  checkWorldScene(scene);
  const d = describeWorldScene(scene);
  return `${joinPhrases(d.objects.map(worldObjectPhrase))}, on a ${d.background} background`;
}
