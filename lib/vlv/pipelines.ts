/**
 * The VLV pipelines on a loaded VlvModel: images in, and
 *
 * - `embed`: the caption embedding z and CLIP's output on it c, per image;
 * - `caption`: text (stage 2: c -> MLP -> Qwen2 generate), with the official post-processing;
 *   `stream: true` yields the tokens as they come;
 * - `reconstruct`: images again (stage 1: c conditions the frozen UNet, classifier-free guided
 *   sampling, the VAE decode), from images, from z or from c.
 *
 * Images are decoded and cropped as the official inference scripts do (lib/vlv/images.ts) and run
 * in batches of `batchSize`; every call takes `signal` (E_ABORTED) and `onProgress` (the engine's
 * events, 'token' / 'denoise' / ..., and the pipeline's own 'batch': done / total batches). The
 * model's device and dtype are its load's (`VlvModel.load(folder, { device, dtype, use })`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VlvError } from '../errors.js';
import type { CallOptions, Progress } from '../call-options.js';
import { generationDefaults, type GenerateOptions } from '../language/generation-options.js';
import { concat } from '../ops.js';
import { Tensor } from '../tensor.js';
import type { Tokenizer } from '../tokenizer.js';
import { loadTokenizer } from '../tokenizer-files.js';
import { processCaption } from './caption-text.js';
import {
  imageLabel,
  readImage,
  VlvImageProcessor,
  type DecodedImage,
  type PreparedImages,
  type RgbImage,
  type VlvImageSource,
} from './images.js';
import type { VlvFolder } from './folder.js';
import type { VlvGenerateOptions, VlvModel, VlvReconstructOptions } from './model.js';

export interface VlvPipelineOptions extends CallOptions {
  /** Images per engine call (default 4). */
  batchSize?: number;
  /** The stage-1 crop side (default 384, the official; Florence-2's input side when that is smaller). */
  imageSize?: number;
}

// ------------------------------------------------------------------ shared plumbing

interface ModelAssets {
  processors: Map<number | undefined, Promise<VlvImageProcessor>>;
  language?: Promise<{ tokenizer: Tokenizer; defaults: GenerateOptions }>;
  uncond?: Promise<{ ids: number[]; source: 'tokenizer' | 'text_encoder config' }>;
}
const ASSETS = new WeakMap<object, ModelAssets>();
const assets = (m: object): ModelAssets => {
  let a = ASSETS.get(m);
  if (!a) ASSETS.set(m, (a = { processors: new Map() }));
  return a;
};

function part(model: { folder: VlvFolder }, name: 'florence2' | 'language_model' | 'text_encoder'): string {
  const dir = model.folder.parts[name];
  if (!dir) throw new VlvError('E_FILE', `VLV model ${model.folder.root} has no '${name}' part`);
  return dir;
}

/** The model's image processor (Florence-2's, with the stage-1 crop in front); cached per model and size. */
export async function imageProcessor(model: VlvModel, imageSize?: number): Promise<VlvImageProcessor> {
  const cache = assets(model).processors;
  let p = cache.get(imageSize);
  if (!p) cache.set(imageSize, (p = VlvImageProcessor.load(part(model, 'florence2'), { imageSize })));
  try {
    return await p;
  } catch (e) {
    cache.delete(imageSize);
    throw e;
  }
}

async function readJson(path: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new VlvError('E_FILE_FORMAT', `${path}: not a JSON object`);
}

/** The language model's tokenizer and generation defaults (config.json's eos/pad, then generation_config.json). */
async function languageAssets(model: VlvModel): Promise<{ tokenizer: Tokenizer; defaults: GenerateOptions }> {
  const a = assets(model);
  a.language ??= (async () => {
    const dir = part(model, 'language_model');
    const genPath = join(dir, 'generation_config.json');
    const defaults = generationDefaults(
      (await readJson(join(dir, 'config.json'))) ?? {},
      await readJson(genPath),
      genPath,
    );
    return { tokenizer: await loadTokenizer(dir), defaults };
  })();
  try {
    return await a.language;
  } catch (e) {
    a.language = undefined;
    throw e;
  }
}

/**
 * The unconditional prompt's ids for classifier-free guidance: the CLIP tokenizer's
 * `tokenizer("", padding="max_length", max_length=77)` (SD 2.x pads with id 0, "!": [bos, eos,
 * 0 x 75]). A folder without a tokenizer part gets [bos, eos, 0, ...] with bos and eos the last two
 * ids of text_encoder/config.json's vocab_size (CLIP's <|startoftext|> and <|endoftext|>; the
 * config's own bos_token_id / eos_token_id are CLIPTextConfig's placeholders 0 and 2 in SD 2.x's
 * files, not the tokenizer's ids) and the length its max_position_embeddings.
 */
export async function unconditionalIds(
  model: VlvModel | { folder: VlvFolder },
): Promise<{ ids: number[]; source: 'tokenizer' | 'text_encoder config' }> {
  const a = assets(model);
  a.uncond ??= (async () => {
    const cfgPath = join(part(model, 'text_encoder'), 'config.json');
    const cfg = (await readJson(cfgPath)) ?? {};
    const length = typeof cfg.max_position_embeddings === 'number' ? cfg.max_position_embeddings : 77;
    const tokDir = model.folder.parts.tokenizer;
    if (tokDir) {
      const tok = await loadTokenizer(tokDir);
      return { ids: tok.encode('', { padding: 'max_length', maxLength: length }).ids, source: 'tokenizer' as const };
    }
    const vocab = cfg.vocab_size;
    if (typeof vocab !== 'number' || !Number.isInteger(vocab) || vocab < 3)
      throw new VlvError('E_FILE_FORMAT', `${cfgPath}: vocab_size must be an integer > 2 (for the unconditional ids)`);
    const ids = new Array<number>(length).fill(0);
    ids[0] = vocab - 2;
    ids[1] = vocab - 1;
    return { ids, source: 'text_encoder config' as const };
  })();
  try {
    return await a.uncond;
  } catch (e) {
    a.uncond = undefined;
    throw e;
  }
}

function batchSizeOf(opts: VlvPipelineOptions, fallback = 4): number {
  const b = opts.batchSize ?? fallback;
  if (!Number.isInteger(b) || b < 1) throw new VlvError('E_ARG', `batchSize must be a positive integer, got ${b}`);
  return b;
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new VlvError('E_ABORTED', 'aborted');
}

/** Decodes every image first (so that a bad file fails before any engine work), naming each. */
async function decodeAll(images: readonly VlvImageSource[], signal?: AbortSignal): Promise<DecodedImage[]> {
  const list: readonly VlvImageSource[] = images;
  if (!Array.isArray(images)) throw new VlvError('E_ARG', 'images must be an array');
  if (list.length === 0) throw new VlvError('E_ARG', 'no images');
  const out: DecodedImage[] = [];
  for (let i = 0; i < list.length; i++) {
    checkAborted(signal);
    const im = list[i]!;
    out.push(await readImage(im, imageLabel(im, i)));
  }
  return out;
}

/** Runs `fn` on each batch of prepared images, reporting 'batch' progress. */
async function eachBatch<T>(
  model: VlvModel,
  images: readonly VlvImageSource[],
  opts: VlvPipelineOptions,
  fn: (batch: PreparedImages, index: number) => Promise<T>,
): Promise<T[]> {
  const decoded = await decodeAll(images, opts.signal);
  const proc = await imageProcessor(model, opts.imageSize);
  const size = batchSizeOf(opts);
  const total = Math.ceil(decoded.length / size);
  const out: T[] = [];
  for (let b = 0; b < total; b++) {
    checkAborted(opts.signal);
    const prepared = await proc.prepare(decoded.slice(b * size, (b + 1) * size), opts.signal);
    try {
      out.push(await fn(prepared, b));
    } finally {
      prepared.pixelValues.dispose();
      prepared.inputIds.dispose();
    }
    opts.onProgress?.({ stage: 'batch', done: b + 1, total });
  }
  return out;
}

/** Concatenates along dim 0 and frees the parts (one part is returned as is). */
async function concatBatches(parts: Tensor[]): Promise<Tensor> {
  if (parts.length === 1) return parts[0]!;
  try {
    return await concat(parts, 0);
  } finally {
    for (const p of parts) p.dispose();
  }
}

// ------------------------------------------------------------------ embed

export interface EmbedResult {
  /** The caption embedding [B, N, D] (language_proj's output). */
  z: Tensor;
  /** CLIP's text encoder on z [B, N, D]: the UNet's context, the captioner's input. */
  c: Tensor;
  /** Each row's image (its path, name, or `image <i>`). */
  files: string[];
}

/** z and c for each image (stage 1's encoder). */
export async function embed(
  model: VlvModel,
  images: readonly VlvImageSource[],
  opts: VlvPipelineOptions = {},
): Promise<EmbedResult> {
  const files: string[] = [];
  const zs: Tensor[] = [];
  const cs: Tensor[] = [];
  try {
    await eachBatch(model, images, opts, async (batch) => {
      const out = await model.encode(
        { pixelValues: batch.pixelValues, inputIds: batch.inputIds },
        { signal: opts.signal, onProgress: opts.onProgress },
      );
      out.encoderHiddenStates.dispose();
      out.decoderHiddenStates.dispose();
      zs.push(out.z);
      cs.push(out.c);
      files.push(...batch.files);
    });
  } catch (e) {
    for (const t of [...zs, ...cs]) t.dispose();
    throw e;
  }
  const z = await concatBatches(zs);
  return { z, c: await concatBatches(cs), files };
}

// ------------------------------------------------------------------ caption

export interface CaptionOptions
  extends
    VlvPipelineOptions,
    Omit<GenerateOptions, 'numBeams' | 'numReturnSequences' | 'maxNewTokens' | 'earlyStopping'> {
  /** Beam width (default 4, the official; 1 with `stream`). */
  beams?: number;
  /** Default 300 (the official --max_length). */
  maxNewTokens?: number;
  /** Default true (the official). */
  earlyStopping?: boolean | 'never';
  /** The prefix's dtype as generate sees it: 'bf16' (the official cast, the engine's default) or 'f32'. */
  prefixDtype?: VlvGenerateOptions['prefixDtype'];
  /** Skip the official post-processing (`caption` = the decoded text). */
  raw?: boolean;
  /** Yield tokens as they come (greedy or sampling; beam search cannot stream: E_ARG). */
  stream?: boolean;
}

export interface CaptionResult {
  file: string;
  /** The caption after the official post-processing (lib/vlv/caption-text.ts). */
  caption: string;
  /** The decoded text before it (special tokens skipped). */
  text: string;
  /** The generated token ids (new tokens only, up to and including eos). */
  ids: number[];
}

/** What `caption(..., { stream: true })` yields: each row's token as it is chosen, then each finished caption. */
export type CaptionEvent =
  | { type: 'token'; file: string; index: number; step: number; id: number; text: string }
  | { type: 'caption'; index: number; result: CaptionResult };

/** The generation options of a caption call: the folder's defaults, the official ones, then the caller's. */
function captionGenerateOptions(defaults: GenerateOptions, opts: CaptionOptions): VlvGenerateOptions {
  const { beams, stream } = opts;
  const notGeneration = new Set(['beams', 'stream', 'raw', 'batchSize', 'imageSize', 'signal', 'onProgress']);
  const numBeams = beams ?? (stream ? 1 : 4);
  if (!Number.isInteger(numBeams) || numBeams < 1)
    throw new VlvError('E_ARG', `beams must be a positive integer, got ${numBeams}`);
  if (stream && numBeams > 1)
    throw new VlvError(
      'E_ARG',
      `caption: beam search cannot stream (its beams are final only at the end); use beams: 1 or no stream (got beams ${numBeams})`,
    );
  const defined = Object.fromEntries(
    Object.entries(opts).filter(([k, v]) => v !== undefined && !notGeneration.has(k)),
  ) as VlvGenerateOptions;
  return { ...defaults, maxNewTokens: 300, earlyStopping: true, ...defined, numBeams };
}

const eosSet = (o: GenerateOptions): Set<number> =>
  new Set(o.eosTokenId === null || o.eosTokenId === undefined ? [] : [o.eosTokenId].flat());

/** Rows of an i64 [R, T] tensor as numbers. */
function rowsOf(t: Tensor): number[][] {
  const [r, n] = t.shape as [number, number];
  const flat = Array.from(t.toArray() as ArrayLike<number | bigint>, Number);
  return Array.from({ length: r }, (_, i) => flat.slice(i * n, (i + 1) * n));
}

/** A row's ids up to and including its first eos (the padding after it dropped). */
function trimRow(ids: number[], eos: Set<number>): number[] {
  const end = ids.findIndex((id) => eos.has(id));
  return (end < 0 ? ids : ids.slice(0, end + 1)).filter((id) => id >= 0);
}

function captionOf(file: string, ids: number[], tokenizer: Tokenizer, raw: boolean | undefined): CaptionResult {
  const text = tokenizer.decode(ids, { skipSpecialTokens: true });
  return { file, caption: raw ? text : processCaption(text), text, ids };
}

/**
 * Captions for images (stage 2), as train/Caption_inference.py makes them: beam search with 4
 * beams, 300 new tokens at most, early stopping, the folder's generation_config.json for the rest
 * (eos, pad), then the official post-processing. With `stream: true` it returns an async iterator
 * of CaptionEvent instead (greedy unless `doSample`; the tokens' text is the raw decoded text, the
 * final 'caption' events carry the post-processed captions).
 */
export function caption(
  model: VlvModel,
  images: readonly VlvImageSource[],
  opts: Omit<CaptionOptions, 'stream'> & { stream: true },
): AsyncGenerator<CaptionEvent, void, undefined>;
export function caption(
  model: VlvModel,
  images: readonly VlvImageSource[],
  opts?: Omit<CaptionOptions, 'stream'> & { stream?: false },
): Promise<CaptionResult[]>;
export function caption(
  model: VlvModel,
  images: readonly VlvImageSource[],
  opts: CaptionOptions = {},
): Promise<CaptionResult[]> | AsyncGenerator<CaptionEvent, void, undefined> {
  if (opts.stream) return captionStream(model, images, opts);
  return captionAll(model, images, opts);
}

async function captionAll(
  model: VlvModel,
  images: readonly VlvImageSource[],
  opts: CaptionOptions,
): Promise<CaptionResult[]> {
  const { tokenizer, defaults } = await languageAssets(model);
  const gen = captionGenerateOptions(defaults, opts);
  const eos = eosSet(gen);
  const batches = await eachBatch(model, images, opts, async (batch) => {
    const out = await model.generate(
      { pixelValues: batch.pixelValues, inputIds: batch.inputIds },
      { ...gen, signal: opts.signal, onProgress: opts.onProgress },
    );
    try {
      return rowsOf(out.ids).map((row, i) => captionOf(batch.files[i]!, trimRow(row, eos), tokenizer, opts.raw));
    } finally {
      for (const t of [out.ids, out.c, out.prefix, out.sequencesScores]) t?.dispose();
    }
  });
  return batches.flat();
}

/** The streaming form of caption() (see there). */
export async function* captionStream(
  model: VlvModel,
  images: readonly VlvImageSource[],
  opts: CaptionOptions = {},
): AsyncGenerator<CaptionEvent, void, undefined> {
  const { tokenizer, defaults } = await languageAssets(model);
  const gen = captionGenerateOptions(defaults, { ...opts, stream: true });
  const eos = eosSet(gen);
  const decoded = await decodeAll(images, opts.signal);
  const proc = await imageProcessor(model, opts.imageSize);
  const size = batchSizeOf(opts);
  const total = Math.ceil(decoded.length / size);
  for (let b = 0; b < total; b++) {
    checkAborted(opts.signal);
    const first = b * size;
    const batch = await proc.prepare(decoded.slice(first, first + size), opts.signal);
    // The engine's 'token' progress events carry each row's chosen id; they are queued here and
    // yielded as they arrive (as CausalLM.stream does).
    const stop = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
    const pending: number[][] = [];
    let wake: (() => void) | null = null;
    let settled = false;
    let failure: unknown = null;
    let final: number[][] | null = null;
    const onProgress = (p: Progress) => {
      opts.onProgress?.(p);
      if (p.stage === 'token' && p.ids) pending.push(p.ids);
      wake?.();
    };
    const run = model
      .generate({ pixelValues: batch.pixelValues, inputIds: batch.inputIds }, { ...gen, signal, onProgress })
      .then(
        (out) => {
          final = rowsOf(out.ids);
          for (const t of [out.ids, out.c, out.prefix, out.sequencesScores]) t?.dispose();
          settled = true;
          wake?.();
        },
        (e: unknown) => {
          failure = e;
          settled = true;
          wake?.();
        },
      );
    const rows = batch.files.length;
    const done = new Array<boolean>(rows).fill(false);
    const chosen: number[][] = Array.from({ length: rows }, () => []);
    const shown = new Array<number>(rows).fill(0);
    const maxSteps = gen.maxNewTokens ?? Infinity;
    let step = 0;
    // Incremental text as transformers' TextStreamer shows it: held back while it ends in an
    // incomplete character (U+FFFD), flushed whole when the row ends (eos or the last step).
    const textOf = (r: number, last: boolean): string => {
      const text = tokenizer.decode(chosen[r]!, { skipSpecialTokens: true });
      if ((!last && text.endsWith('\uFFFD')) || text.length <= shown[r]!) return '';
      const add = text.slice(shown[r]);
      shown[r] = text.length;
      return add;
    };
    function* emit(ids: number[]): Generator<CaptionEvent> {
      step++;
      for (let r = 0; r < rows; r++) {
        if (done[r]) continue;
        const id = ids[r]!;
        chosen[r]!.push(id);
        if (eos.has(id)) done[r] = true;
        const text = textOf(r, done[r] === true || step >= maxSteps);
        yield { type: 'token', file: batch.files[r]!, index: first + r, step, id, text };
      }
    }
    try {
      for (;;) {
        const ids = pending.shift();
        if (ids) {
          yield* emit(ids);
          continue;
        }
        if (settled) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
      if (failure) throw VlvError.from(failure);
      // Steps whose progress events had not arrived when the call settled.
      const out: number[][] = final!;
      for (let s = step; s < (out[0]?.length ?? 0); s++) yield* emit(out.map((r) => r[s]!));
      for (let r = 0; r < rows; r++)
        yield {
          type: 'caption',
          index: first + r,
          result: captionOf(batch.files[r]!, trimRow(out[r]!, eos), tokenizer, opts.raw),
        };
    } finally {
      if (!settled) {
        stop.abort();
        await run;
      }
      batch.pixelValues.dispose();
      batch.inputIds.dispose();
    }
    opts.onProgress?.({ stage: 'batch', done: b + 1, total });
  }
}

// ------------------------------------------------------------------ reconstruct

export interface ReconstructOptions extends VlvPipelineOptions {
  /** Denoising steps (default 50, the official). */
  steps?: number;
  /** Classifier-free guidance scale (default 2.0, the official; <= 1: no unconditional pass). */
  guidance?: number;
  /** Fixes the initial latents and the sampler's noise (default 0); batch k uses seed + k. */
  seed?: number;
  /** The sampler (default 'ddpm', the official). */
  scheduler?: VlvReconstructOptions['scheduler'];
  /** DDIM's eta. */
  eta?: number;
  /** The output side in pixels (the latents are size / 8, as the official code); default the crop side. */
  size?: number;
}

export interface ReconstructResult {
  /** RGB [B, 3, H, W] in [0, 1]. */
  images: Tensor;
  /** Each row's source (image label, or `z <i>` / `c <i>`). */
  files: string[];
  /** With image inputs: the stage-1 crops the encoder saw (for side-by-side output). */
  crops?: RgbImage[];
}

/** What reconstruct() starts from: images, or a caption embedding z [B, N, D], or CLIP's output c. */
export type ReconstructSource = readonly VlvImageSource[] | { z: Tensor } | { c: Tensor };

function checkSteps(o: ReconstructOptions): void {
  const steps = o.steps ?? 50;
  if (!Number.isInteger(steps) || steps < 1)
    throw new VlvError('E_ARG', `steps must be a positive integer, got ${steps}`);
  if (o.guidance !== undefined && !Number.isFinite(o.guidance))
    throw new VlvError('E_ARG', `guidance must be a number, got ${o.guidance}`);
  if (o.size !== undefined && (!Number.isInteger(o.size) || o.size < 8 || o.size % 8 !== 0))
    throw new VlvError('E_ARG', `size must be a positive multiple of 8 (the latents are size / 8), got ${o.size}`);
}

/**
 * Images from images (stage 1 round trip), or from z or c: DDPM with 50 steps and guidance 2.0
 * unless told otherwise (train/Image_inference.py), the unconditional context from the CLIP
 * tokenizer's empty prompt (unconditionalIds).
 */
export async function reconstruct(
  model: VlvModel,
  source: ReconstructSource,
  opts: ReconstructOptions = {},
): Promise<ReconstructResult> {
  checkSteps(opts);
  const guidance = opts.guidance ?? 2.0;
  const seed = opts.seed ?? 0;
  const uncond =
    guidance > 1
      ? await unconditionalIds(model).then(({ ids }) => Tensor.from(BigInt64Array.from(ids, BigInt), [1, ids.length]))
      : undefined;
  const call = (k: number, size: number): VlvReconstructOptions => ({
    steps: opts.steps ?? 50,
    guidance,
    seed: seed + k,
    height: opts.size ?? size,
    width: opts.size ?? size,
    ...(opts.scheduler ? { scheduler: opts.scheduler } : {}),
    ...(opts.eta !== undefined ? { eta: opts.eta } : {}),
    signal: opts.signal,
    onProgress: opts.onProgress,
  });
  const drop = (r: Awaited<ReturnType<VlvModel['reconstruct']>>) => {
    for (const t of [r.decoded, r.latents, r.cCond, r.cUncond, r.timesteps, r.latentsTrajectory, r.guidedNoise])
      t?.dispose();
    return r.image;
  };
  try {
    if (Array.isArray(source)) {
      const crops: RgbImage[] = [];
      const files: string[] = [];
      const proc = await imageProcessor(model, opts.imageSize);
      const parts = await eachBatch(model, source as readonly VlvImageSource[], opts, async (batch, k) => {
        crops.push(...batch.crops);
        files.push(...batch.files);
        return drop(
          await model.reconstruct(
            { pixelValues: batch.pixelValues, inputIds: batch.inputIds, uncondInputIds: uncond },
            call(k, proc.imageSize),
          ),
        );
      });
      return { images: await concatBatches(parts), files, crops };
    }
    const given = source as { z?: Tensor; c?: Tensor };
    const t = given.z ?? given.c;
    if (!(t instanceof Tensor) || (given.z && given.c))
      throw new VlvError('E_ARG', 'reconstruct: give images, { z } or { c }');
    if (t.shape.length !== 3)
      throw new VlvError('E_SHAPE', `reconstruct: z / c must be [B, N, D], got [${t.shape.join(', ')}]`);
    const kind = given.z ? 'z' : 'c';
    const size = opts.size ?? (await imageProcessor(model, opts.imageSize)).imageSize;
    const image = drop(await model.reconstruct({ [kind]: t, uncondInputIds: uncond }, call(0, size)));
    return { images: image, files: Array.from({ length: t.shape[0]! }, (_, i) => `${kind} ${i}`) };
  } finally {
    uncond?.dispose();
  }
}
