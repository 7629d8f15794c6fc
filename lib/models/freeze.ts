/**
 * Freezing per module: parameters are frozen (requiresGrad false) when a model loads;
 * unfreeze(model, prefixes) makes every parameter whose reference name starts with one of the
 * prefixes trainable, freeze() the reverse. A prefix that matches no parameter is an E_ARG (a
 * typo would otherwise train nothing). Tied weights are one tensor under several names (e.g.
 * Florence-2's language_model.model.shared / encoder.embed_tokens / decoder.embed_tokens /
 * lm_head): changing it under any of its names changes it for all.
 */
import { VlvError } from '../errors.js';
import type { Model } from './model.js';

function setRequiresGrad(model: Model, prefixes: string | readonly string[], value: boolean, what: string): string[] {
  const list = typeof prefixes === 'string' ? [prefixes] : prefixes;
  const params = model.parameters();
  const names = Object.keys(params);
  const changed: string[] = [];
  for (const prefix of list) {
    const hits = names.filter((n) => n.startsWith(prefix));
    if (hits.length === 0)
      throw new VlvError('E_ARG', `${what}: no parameter of this ${model.kind} model starts with '${prefix}'`);
    for (const n of hits) {
      params[n]!.requiresGrad = value;
      changed.push(n);
    }
  }
  return [...new Set(changed)].sort();
}

/** Makes the parameters under the prefixes trainable (all of them for ''); returns their names. */
export function unfreeze(model: Model, prefixes: string | readonly string[] = ''): string[] {
  return setRequiresGrad(model, prefixes, true, 'unfreeze');
}

/** Freezes the parameters under the prefixes (all of them for ''); returns their names. */
export function freeze(model: Model, prefixes: string | readonly string[] = ''): string[] {
  return setRequiresGrad(model, prefixes, false, 'freeze');
}

/** The names of the parameters that are currently trainable. */
export function trainableParameters(model: Model): string[] {
  return Object.entries(model.parameters())
    .filter(([, t]) => t.requiresGrad)
    .map(([n]) => n)
    .sort();
}
