/**
 * The engine's ops, typed. Every call runs off the JS thread and resolves to new tensors;
 * calls on tensors that require grad record themselves unless inside noGrad().
 * Semantics are those of csrc/ops/ops.h (the one op list).
 */
import { native, type NativeOpInfo } from './native.js';
import { isGradEnabled } from './grad-mode.js';
import { engineAttrs, type Options } from './options.js';
import { Tensor, type DType } from './tensor.js';
import { wrapAsync, wrapSync } from './errors.js';

type Input = Tensor | null | undefined;

function handles(inputs: readonly Input[]) {
  return inputs.map((t) => (t ? t.native : null));
}

/**
 * Runs any op of the list by name; resolves to all of its outputs. Attributes are camelCase
 * (csrc/ops/ops.h's `trans_b` is `transB`).
 */
export async function runOp(name: string, inputs: readonly Input[], options: Options = {}): Promise<Tensor[]> {
  const out = await wrapAsync(() => native.runOp(name, handles(inputs), engineAttrs(options, name), isGradEnabled()));
  return out.map((h) => new Tensor(h));
}

/** The same on the calling thread: for tiny tensors, where a Promise costs more than the op. */
export function runOpSync(name: string, inputs: readonly Input[], options: Options = {}): Tensor[] {
  return wrapSync(() => native.runOpSync(name, handles(inputs), engineAttrs(options, name), isGradEnabled())).map(
    (h) => new Tensor(h),
  );
}

async function one(name: string, inputs: readonly Input[], options: Options = {}): Promise<Tensor> {
  return (await runOp(name, inputs, options))[0]!;
}

/** The op list: name, number of tensor inputs (-1: any), whether it has a backward rule. */
export function opList(): NativeOpInfo[] {
  return native.opList();
}

export type Activation = 'none' | 'gelu' | 'gelu_tanh' | 'silu' | 'quick_gelu';
export type Reduction = 'mean' | 'sum' | 'none';

export const add = (a: Tensor, b: Tensor) => one('add', [a, b]);
export const sub = (a: Tensor, b: Tensor) => one('sub', [a, b]);
export const mul = (a: Tensor, b: Tensor) => one('mul', [a, b]);
export const div = (a: Tensor, b: Tensor) => one('div', [a, b]);
/** x * alpha + beta */
export const scale = (x: Tensor, alpha: number, beta = 0) => one('scale', [x], { alpha, beta });
// The unary ops (csrc/ops/ops.h: VLV_UNARY_OPS), with gradients.
export const neg = (x: Tensor) => one('neg', [x]);
export const abs = (x: Tensor) => one('abs', [x]);
export const exp = (x: Tensor) => one('exp', [x]);
export const log = (x: Tensor) => one('log', [x]);
export const sqrt = (x: Tensor) => one('sqrt', [x]);
export const rsqrt = (x: Tensor) => one('rsqrt', [x]);
export const tanh = (x: Tensor) => one('tanh', [x]);
export const sigmoid = (x: Tensor) => one('sigmoid', [x]);
export const cast = (x: Tensor, dtype: DType) => one('cast', [x], { dtype });

export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none') => one('gelu', [x], { approximate });
export const quickGelu = (x: Tensor) => one('quick_gelu', [x]);
export const silu = (x: Tensor) => one('silu', [x]);
/** x[..., 2H] -> h * gelu(g) with (h, g) = chunk(x, 2, -1) (diffusers GEGLU). */
export const geglu = (x: Tensor) => one('geglu', [x]);
/** silu(gate) * up (Qwen2 MLP). */
export const swiglu = (gate: Tensor, up: Tensor) => one('swiglu', [gate, up]);

export const matmul = (a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean; alpha?: number } = {}) =>
  one('matmul', [a, b], { transA: opts.transA ?? false, transB: opts.transB ?? false, alpha: opts.alpha ?? 1 });
/** x @ weight^T + bias, then the activation, in one pass. weight is [out, in] as in PyTorch. */
export const linear = (x: Tensor, weight: Tensor, bias?: Tensor | null, activation: Activation = 'none') =>
  one('linear', [x, weight, bias], { activation });
export const conv2d = (
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  opts: { stride?: number | [number, number]; padding?: number | [number, number]; groups?: number } = {},
) =>
  one('conv2d', [x, weight, bias], {
    stride: opts.stride ?? 1,
    padding: opts.padding ?? 0,
    groups: opts.groups ?? 1,
  });

export const groupNorm = (
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  opts: { groups: number; eps?: number; silu?: boolean },
) => one('group_norm', [x, weight, bias], { groups: opts.groups, eps: opts.eps ?? 1e-5, silu: opts.silu ?? false });
/** conv2d(silu?(groupNorm(x))) fused (one kernel on CUDA, bf16/f16); inference only: E_ARG
 * when a gradient would be recorded (run it under noGrad, or use groupNorm + conv2d). */
export const groupNormConv2d = (
  x: Tensor,
  norm: { weight?: Tensor | null; bias?: Tensor | null; groups: number; eps?: number; silu?: boolean },
  weight: Tensor,
  bias?: Tensor | null,
  opts: { stride?: number | [number, number]; padding?: number | [number, number] } = {},
) =>
  one('group_norm_conv2d', [x, norm.weight ?? null, norm.bias ?? null, weight, bias], {
    normGroups: norm.groups,
    eps: norm.eps ?? 1e-5,
    silu: norm.silu ?? false,
    stride: opts.stride ?? 1,
    padding: opts.padding ?? 0,
  });
export const layerNorm = (x: Tensor, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5) =>
  one('layer_norm', [x, weight, bias], { eps });
export const rmsNorm = (x: Tensor, weight?: Tensor | null, eps = 1e-6) => one('rms_norm', [x, weight], { eps });
export const softmax = (x: Tensor) => one('softmax', [x]);

export interface AttentionOptions {
  mask?: Tensor | null;
  causal?: boolean;
  scale?: number;
}
/** Fused attention; resolves to { out, lse }. See ops.h for shapes and masks. */
export async function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}) {
  const [out, lse] = await runOp('attention', [q, k, v, opts.mask], {
    causal: opts.causal ?? false,
    scale: opts.scale,
  });
  return { out: out!, lse: lse! };
}

export const embedding = (weight: Tensor, ids: Tensor) => one('embedding', [weight, ids]);
/** bf16Tables: cos/sin rounded to bf16 (transformers casts them to a bf16 input's dtype). */
export const rope = (x: Tensor, positions: Tensor, theta = 10000, bf16Tables = false) =>
  one('rope', [x, positions], { theta, bf16Tables: bf16Tables ? 1 : 0 });
export const timestepEmbedding = (
  t: Tensor,
  opts: { dim: number; flipSinToCos?: boolean; downscaleFreqShift?: number; scale?: number; maxPeriod?: number },
) =>
  one('timestep_embedding', [t], {
    dim: opts.dim,
    flipSinToCos: opts.flipSinToCos ?? false,
    downscaleFreqShift: opts.downscaleFreqShift ?? 1,
    scale: opts.scale ?? 1,
    maxPeriod: opts.maxPeriod ?? 10000,
  });

export const reshape = (x: Tensor, shape: number[]) => one('reshape', [x], { shape });
export const slice = (x: Tensor, dim: number, start: number, end: number) => one('slice', [x], { dim, start, end });
export const permute = (x: Tensor, dims: number[]) => one('permute', [x], { dims });
export async function transpose(x: Tensor, d0: number, d1: number): Promise<Tensor> {
  const n = x.shape.length;
  const dims = [...Array(n).keys()];
  const a = (d0 + n) % n;
  const b = (d1 + n) % n;
  [dims[a], dims[b]] = [dims[b]!, dims[a]!];
  return permute(x, dims);
}
export const concat = (xs: Tensor[], dim: number) => one('concat', xs, { dim });
export const split = (x: Tensor, dim: number, sizes: number[]) => runOp('split', [x], { dim, sizes });
export const upsampleNearest2x = (x: Tensor) => one('upsample_nearest2x', [x]);

export const sum = (x: Tensor, dims: number[] = [], keepdim = false) => one('sum', [x], { dims, keepdim });
export const mean = (x: Tensor, dims: number[] = [], keepdim = false) => one('mean', [x], { dims, keepdim });
export const mseLoss = (a: Tensor, b: Tensor, reduction: Reduction = 'mean') => one('mse_loss', [a, b], { reduction });
export const crossEntropy = (
  logits: Tensor,
  targets: Tensor,
  opts: { ignoreIndex?: number; reduction?: Reduction } = {},
) =>
  one('cross_entropy', [logits, targets], {
    ignoreIndex: opts.ignoreIndex ?? -100,
    reduction: opts.reduction ?? 'mean',
  });

/** Philox 4x32-10 normals: the same numbers for the same (seed, offset) on any device or thread count. */
export const randn = (shape: number[], seed: number | bigint, offset: number | bigint = 0) =>
  one('randn', [], { shape, seed, offset });
export const rand = (shape: number[], seed: number | bigint, offset: number | bigint = 0) =>
  one('rand', [], { shape, seed, offset });
