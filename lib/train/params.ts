/**
 * The parameters a run trains: the stage's official set (VlvModel.trainableParameters) made
 * trainable, tied weights found (one tensor under several names, e.g. Florence-2's shared /
 * encoder.embed_tokens / decoder.embed_tokens: the optimizer must see it once), and the
 * weight-decay groups (optionally none for norms and biases, as most fine-tuning recipes do).
 * selectParams does the same for any named tensors (the diffusers parts of t2i / vae training).
 */
import type { Tensor } from '../tensor.js';
import type { VlvModel } from '../vlv/model.js';

export interface TrainableParam {
  /** The first of its names (sorted): the key of its optimizer state and EMA. */
  name: string;
  /** Every name the tensor goes by (tied weights have several), the checkpoint's keys. */
  names: string[];
  tensor: Tensor;
  /** A norm's scale or shift, or a bias (no weight decay when excluded). */
  noDecay: boolean;
}

export interface TrainableSet {
  params: TrainableParam[];
  /** Elements trained (each tied tensor once) and frozen (every other parameter of the loaded parts). */
  trainableCount: number;
  frozenCount: number;
  /** Bytes of the loaded weights (all of them). */
  weightBytes: number;
}

/** Biases, and the scales/shifts of LayerNorm/GroupNorm/RMSNorm layers (by their reference names). */
export function isNoDecay(name: string, shape: readonly number[]): boolean {
  if (/[._]bias$/.test(name)) return true;
  if (!name.endsWith('.weight') || shape.length !== 1) return false;
  const module = name.slice(0, -'.weight'.length).split('.').pop()!;
  return /norm|^ln/i.test(module);
}

/** Freezes everything, then makes the stage's official set trainable; finds tied tensors through requiresGrad. */
export function selectTrainable(model: VlvModel, stage: 1 | 2): TrainableSet {
  return selectParams(model.parameters(), () => model.trainableParameters(stage));
}

/**
 * Freezes every tensor of `all`, then makes the ones `choose()` returns trainable (`all`'s names
 * or others of the same tensors); tied tensors (one tensor under several names) are found
 * through requiresGrad and trained once.
 */
export function selectParams(all: Record<string, Tensor>, choose: () => Record<string, Tensor>): TrainableSet {
  for (const t of Object.values(all)) t.requiresGrad = false;
  const chosen = choose();
  const names = Object.keys(chosen).sort();
  const params: TrainableParam[] = [];
  const byName = new Map<string, TrainableParam>();
  for (const name of names) {
    const t = chosen[name]!;
    if (t.requiresGrad) continue; // tied to a tensor already taken: found below
    t.requiresGrad = true;
    const p: TrainableParam = { name, names: [name], tensor: t, noDecay: isNoDecay(name, t.shape) };
    params.push(p);
    byName.set(name, p);
  }
  // A name whose tensor came out trainable without being chosen first is an alias: match it to
  // its owner by toggling the owners one at a time.
  const aliases = Object.keys(all).filter((n) => all[n]!.requiresGrad && !byName.has(n));
  if (aliases.length > 0) {
    for (const p of params) {
      p.tensor.requiresGrad = false;
      for (const a of aliases) if (!all[a]!.requiresGrad && !p.names.includes(a)) p.names.push(a);
      p.tensor.requiresGrad = true;
    }
    for (const p of params) p.names.sort();
  }
  let trainableCount = 0;
  for (const p of params) trainableCount += p.tensor.numel;
  const trained = new Set(params.flatMap((p) => p.names));
  let frozenCount = 0;
  let weightBytes = 0;
  for (const [n, t] of Object.entries(all)) {
    weightBytes += t.nbytes;
    if (!trained.has(n)) frozenCount += t.numel;
  }
  return { params, trainableCount, frozenCount, weightBytes };
}
