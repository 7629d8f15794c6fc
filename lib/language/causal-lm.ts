/**
 * CausalLM: a decoder-only language model folder (Hugging Face layout: config.json,
 * generation_config.json, *.safetensors, tokenizer.json) with a typed API over the engine's
 * model ('qwen2'): forward (logits), loss (shifted cross-entropy), generate (greedy, sampling,
 * beam search) and stream (the tokens of greedy / sampled generation as an async iterator).
 * The math is all native (csrc/models/qwen2.cc, generation.cc); this file maps options, reads
 * the folder's defaults and turns ids into text.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VlvError } from '../errors.js';
import { Model } from '../models/model.js';
import type { Options } from '../options.js';
import type { CallOptions } from '../call-options.js';
import { Tensor } from '../tensor.js';
import { loadTokenizer } from '../tokenizer-files.js';
import type { Tokenizer } from '../tokenizer.js';
import { generationAttrs, generationDefaults, type GenerateOptions } from './generation-options.js';
import { TextStreamer } from './text-streamer.js';

export type { GenerateOptions } from './generation-options.js';

/** config.model_type -> the engine's model kind. */
const KINDS: Record<string, string> = { qwen2: 'qwen2' };

export interface CausalLMLoadOptions {
  /** 'bf16' (or 'f16') keeps the weight matrices 16-bit in memory; computation stays f32. Default 'f32'. */
  dtype?: 'f32' | 'bf16' | 'f16';
}

/** The fields of config.json this API reads (the engine reads and checks all of them). */
export interface CausalLMConfig {
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  /** The whole config.json. */
  raw: Record<string, unknown>;
}

type Ids = Tensor | readonly (readonly number[])[];

/** Model inputs: token ids or embeddings (exactly one), with an optional mask (1 = real token). */
export interface LMInputs {
  inputIds?: Ids;
  inputsEmbeds?: Tensor;
  attentionMask?: Ids;
  positionIds?: Ids;
}

/** What generate() and stream() start from: text (needs a tokenizer), token ids, or inputs. */
export type Prompt = string | readonly string[] | readonly number[] | readonly (readonly number[])[] | LMInputs;

export interface GenerateResult {
  /** The new tokens of each row (prompt excluded; finished rows padded). */
  ids: number[][];
  /** Each row's new tokens decoded, special tokens skipped (when the folder has a tokenizer). */
  text?: string[];
  /** Beam search: each returned sequence's score. */
  scores?: number[];
}

/** One step of stream(): the token each row chose, and the text it adds (with a tokenizer). */
export interface StreamStep {
  /** 1-based step number. */
  step: number;
  ids: number[];
  /** Per row, the text this step completes (possibly '' while a character's bytes are incomplete). */
  text?: string[];
}

export type CallGenerateOptions = GenerateOptions & CallOptions;

async function readJson(path: string, required: boolean): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (!required) return null;
    throw new VlvError('E_FILE', `CausalLM: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new VlvError('E_FILE_FORMAT', `CausalLM: ${path} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new VlvError('E_FILE_FORMAT', `CausalLM: ${path} must hold a JSON object`);
  }
  return v as Record<string, unknown>;
}

async function hasTokenizer(folder: string): Promise<boolean> {
  for (const f of ['tokenizer.json', 'vocab.json']) {
    try {
      await access(join(folder, f));
      return true;
    } catch {
      // next
    }
  }
  return false;
}

function intField(raw: Record<string, unknown>, key: string, source: string): number {
  const v = raw[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new VlvError('E_FILE_FORMAT', `CausalLM: ${source}: '${key}' must be an integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** An i64 [rows, cols] tensor from rows of numbers (rectangular). */
function idsTensor(rows: readonly (readonly number[])[], what: string): Tensor {
  const n = rows[0]?.length ?? 0;
  if (rows.length === 0 || n === 0)
    throw new VlvError('E_ARG', `CausalLM: ${what} must be a non-empty [rows, length] array`);
  for (const [i, r] of rows.entries()) {
    if (r.length !== n)
      throw new VlvError(
        'E_SHAPE',
        `CausalLM: ${what} rows differ in length (row 0 has ${n}, row ${i} has ${r.length})`,
      );
    for (const v of r)
      if (!Number.isInteger(v)) throw new VlvError('E_ARG', `CausalLM: ${what} holds a non-integer ${v}`);
  }
  return Tensor.from(BigInt64Array.from(rows.flat(), BigInt), [rows.length, n]);
}

const asTensor = (v: Ids, what: string) => (v instanceof Tensor ? v : idsTensor(v, what));

/** Rows of an i64 / i32 [R, N] tensor as numbers. */
function rowsOf(t: Tensor): number[][] {
  const [r, n] = t.shape as [number, number];
  const flat = Array.from(t.toArray() as ArrayLike<number | bigint>, Number);
  return Array.from({ length: r }, (_, i) => flat.slice(i * n, (i + 1) * n));
}

export class CausalLM {
  private constructor(
    readonly model: Model,
    readonly config: CausalLMConfig,
    /** generation_config.json (and config.json's eos/pad ids) as defaults for generate(). */
    readonly generationConfig: GenerateOptions,
    readonly tokenizer: Tokenizer | null,
  ) {}

  /** Loads a model folder; the tokenizer too when the folder has one. */
  static async load(folder: string, opts: CausalLMLoadOptions = {}): Promise<CausalLM> {
    const configPath = join(folder, 'config.json');
    const raw = (await readJson(configPath, true))!;
    const modelType = typeof raw.model_type === 'string' ? raw.model_type : '';
    const kind = KINDS[modelType];
    if (!kind) {
      throw new VlvError(
        'E_ARG',
        `CausalLM: ${configPath}: model_type '${modelType}' is not a supported causal LM (${Object.keys(KINDS).join(', ')})`,
      );
    }
    const config: CausalLMConfig = {
      modelType,
      vocabSize: intField(raw, 'vocab_size', configPath),
      hiddenSize: intField(raw, 'hidden_size', configPath),
      numHiddenLayers: intField(raw, 'num_hidden_layers', configPath),
      raw,
    };
    const genPath = join(folder, 'generation_config.json');
    const defaults = generationDefaults(raw, await readJson(genPath, false), genPath);
    const tokenizer = (await hasTokenizer(folder)) ? await loadTokenizer(folder) : null;
    const model = await Model.load(kind, folder, { dtype: opts.dtype ?? 'f32' });
    return new CausalLM(model, config, defaults, tokenizer);
  }

  /** Logits [B, L, vocab] (f32). Records for backward() when an input requires grad. */
  async forward(inputs: LMInputs, call: CallOptions = {}): Promise<Tensor> {
    return (await this.model.run('forward', this.native(inputs), {}, call)).logits!;
  }

  /** Mean cross-entropy of logits[:, :-1] against labels[:, 1:] over labels != -100, shape [1]. */
  async loss(inputs: LMInputs & { labels: Ids }, call: CallOptions = {}): Promise<Tensor> {
    const named = { ...this.native(inputs), labels: asTensor(inputs.labels, 'labels') };
    return (await this.model.run('loss', named, {}, call)).loss!;
  }

  /** Generates from a prompt: options override generation_config.json's defaults. */
  async generate(prompt: Prompt, options: CallGenerateOptions = {}): Promise<GenerateResult> {
    const { inputs, attrs } = this.prepare(prompt, options);
    const out = await this.model.run('generate', inputs, attrs, {
      signal: options.signal,
      onProgress: options.onProgress,
    });
    const ids = rowsOf(out.ids!);
    const result: GenerateResult = { ids };
    if (this.tokenizer) {
      const tok = this.tokenizer;
      result.text = ids.map((r) =>
        tok.decode(
          r.filter((t) => t >= 0),
          { skipSpecialTokens: true },
        ),
      );
    }
    if (out.sequences_scores) result.scores = Array.from(out.sequences_scores.toArray() as Float32Array);
    return result;
  }

  /**
   * The tokens of greedy or sampled generation as they are chosen, one StreamStep per step
   * (the same ids generate() returns). options.signal aborts (the iterator throws E_ABORTED);
   * leaving the loop early stops the generation.
   */
  async *stream(prompt: Prompt, options: CallGenerateOptions = {}): AsyncGenerator<StreamStep, void, undefined> {
    const { inputs, attrs } = this.prepare(prompt, options);
    if (Number(attrs.numBeams ?? 1) > 1) {
      throw new VlvError(
        'E_ARG',
        'CausalLM.stream: beam search cannot stream (its beams are final only at the end); use generate()',
      );
    }
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    const pending: number[][] = [];
    let wake: (() => void) | null = null;
    let settled = false;
    let failure: unknown = null;
    let final: number[][] | null = null;
    const onProgress: CallOptions['onProgress'] = (p) => {
      options.onProgress?.(p);
      if (p.stage === 'token' && p.ids) pending.push(p.ids);
      wake?.();
    };
    const run = this.model.run('generate', inputs, attrs, { signal, onProgress }).then(
      (out) => {
        final = rowsOf(out.ids!);
        settled = true;
        wake?.();
      },
      (e: unknown) => {
        failure = e;
        settled = true;
        wake?.();
      },
    );
    const streamer = this.tokenizer ? new TextStreamer(this.tokenizer) : null;
    const emit = (step: number, ids: number[]): StreamStep =>
      streamer ? { step, ids, text: streamer.push(ids) } : { step, ids };
    let step = 0;
    try {
      for (;;) {
        const ids = pending.shift();
        if (ids) {
          yield emit(++step, ids);
          continue;
        }
        if (settled) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
      if (failure) throw VlvError.from(failure);
      // Steps whose progress events had not arrived when the call settled.
      const rows = final!;
      for (let s = step; s < (rows[0]?.length ?? 0); s++)
        yield emit(
          ++step,
          rows.map((r) => r[s]!),
        );
    } finally {
      if (!settled) {
        stop.abort();
        await run;
      }
    }
  }

  /** The model's parameters by reference name (set requiresGrad to train one). */
  parameters(): Record<string, Tensor> {
    return this.model.parameters();
  }

  dispose(): void {
    this.model.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  private native(inputs: LMInputs): Record<string, Tensor | undefined> {
    return {
      input_ids: inputs.inputIds === undefined ? undefined : asTensor(inputs.inputIds, 'inputIds'),
      inputs_embeds: inputs.inputsEmbeds,
      attention_mask: inputs.attentionMask === undefined ? undefined : asTensor(inputs.attentionMask, 'attentionMask'),
      position_ids: inputs.positionIds === undefined ? undefined : asTensor(inputs.positionIds, 'positionIds'),
    };
  }

  /** Native inputs and options for a prompt; text is encoded left-padded, as batched generation needs. */
  private prepare(
    prompt: Prompt,
    options: GenerateOptions,
  ): { inputs: Record<string, Tensor | undefined>; attrs: Options } {
    const attrs = generationAttrs({ ...this.generationConfig, ...options });
    if (typeof prompt === 'string' || (Array.isArray(prompt) && typeof prompt[0] === 'string')) {
      if (!this.tokenizer)
        throw new VlvError('E_ARG', 'CausalLM: a text prompt needs a tokenizer (the folder has none); pass token ids');
      const texts = typeof prompt === 'string' ? [prompt] : (prompt as readonly string[]);
      const enc = this.tokenizer.encodeBatch(texts, { paddingSide: 'left' });
      return { inputs: this.native({ inputIds: enc.ids, attentionMask: enc.attentionMask }), attrs };
    }
    if (Array.isArray(prompt)) {
      const rows =
        typeof prompt[0] === 'number' ? [prompt as readonly number[]] : (prompt as readonly (readonly number[])[]);
      return { inputs: this.native({ inputIds: rows }), attrs };
    }
    return { inputs: this.native(prompt as LMInputs), attrs };
  }
}
