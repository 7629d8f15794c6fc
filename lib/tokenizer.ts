/**
 * Text tokenizers for the models (Qwen, CLIP, Florence-2's BART), built on the maintained
 * pure-JS `@huggingface/tokenizers` (tokenizers.js): it runs the normalizer, pre-tokenizer, BPE,
 * post-processor and decoder described by a Hugging Face `tokenizer.json`. This file adds what
 * that library leaves to transformers' Python side: truncation that keeps the special tokens,
 * padding (left or right) with attention masks, rectangular batches, the bos/eos/pad ids named
 * in `tokenizer_config.json`, and typed VlvErrors. Loading from a folder is lib/tokenizer-files.ts.
 */
import { Tokenizer as HfTokenizerClass } from '@huggingface/tokenizers';
import { VlvError } from './errors.js';

/**
 * The part of tokenizers.js this layer calls, typed here: the package's own declarations
 * (types/index.d.ts) re-export with extensionless relative paths, which NodeNext resolution
 * cannot follow, so TypeScript sees its Tokenizer as `any`.
 */
interface HfTokenizer {
  model: { vocab: string[]; unk_token_id?: number; end_of_word_suffix?: string } | null;
  post_processor: {
    post_process(tokens: string[], pair: string[] | null, addSpecialTokens: boolean): { tokens: string[] };
  } | null;
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  tokenize(text: string, options?: { add_special_tokens?: boolean }): string[];
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
}
const HfTokenizer = HfTokenizerClass as new (json: object, config: object) => HfTokenizer;

/** Where padding goes: 'right' (the default) or 'left' (what batched generation wants). */
export type PaddingSide = 'left' | 'right';

export interface EncodeOptions {
  /** Add the model's special tokens (bos/eos, cls/sep) around the text. Default true. */
  addSpecialTokens?: boolean;
  /** Length to truncate to / pad to; defaults to the tokenizer's `modelMaxLength` where one is needed. */
  maxLength?: number;
  /**
   * 'max_length' pads up to maxLength; 'longest' pads to the longest sequence of a batch (a single
   * text is left as is); false (default for encode) pads nothing.
   */
  padding?: 'max_length' | 'longest' | false;
  /** Cut the text's tokens so that the result, special tokens included, fits maxLength. */
  truncation?: boolean;
  /** Overrides the tokenizer's padding side (from tokenizer_config.json, else 'right'). */
  paddingSide?: PaddingSide;
}

export interface BatchEncodeOptions extends Omit<EncodeOptions, 'padding'> {
  /** Batches are always rectangular: 'longest' (default) or 'max_length' (at least maxLength). */
  padding?: 'max_length' | 'longest';
}

export interface Encoded {
  ids: number[];
  /** 1 for a real token, 0 for padding. */
  attentionMask: number[];
}

export interface BatchEncoded {
  /** One row per text, all of the same length. */
  ids: number[][];
  attentionMask: number[][];
}

export interface DecodeOptions {
  /** Drop the tokens marked special (bos/eos/pad, <|im_start|>, ...). Default false. */
  skipSpecialTokens?: boolean;
}

/** One entry of tokenizer.json's `added_tokens`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

/** The parts of a tokenizer.json this layer reads; the rest is handed to the library untouched. */
export interface TokenizerJson {
  added_tokens: AddedTokenJson[];
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  model: { type?: string; vocab: unknown; [key: string]: unknown };
  [key: string]: unknown;
}

/** A special token in tokenizer_config.json / special_tokens_map.json: a string or an AddedToken object. */
export type SpecialTokenValue = string | { content: string; [key: string]: unknown } | null | undefined;

/** The parts of tokenizer_config.json (merged with special_tokens_map.json) this layer reads. */
export interface TokenizerConfig {
  bos_token?: SpecialTokenValue;
  eos_token?: SpecialTokenValue;
  pad_token?: SpecialTokenValue;
  unk_token?: SpecialTokenValue;
  sep_token?: SpecialTokenValue;
  cls_token?: SpecialTokenValue;
  mask_token?: SpecialTokenValue;
  additional_special_tokens?: SpecialTokenValue[];
  model_max_length?: number;
  padding_side?: string;
  clean_up_tokenization_spaces?: boolean;
  tokenizer_class?: string;
  [key: string]: unknown;
}

/** The token string of a special-token entry (string, AddedToken object or null). */
export function specialTokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return null;
}

const SPECIAL_KEYS = [
  'bos_token',
  'eos_token',
  'pad_token',
  'unk_token',
  'sep_token',
  'cls_token',
  'mask_token',
] as const;

/** The config as tokenizers.js reads it: special tokens as plain strings, chat template dropped. */
function libraryConfig(config: TokenizerConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  delete out.chat_template;
  delete out.added_tokens_decoder;
  for (const key of SPECIAL_KEYS) out[key] = specialTokenContent(config[key]) ?? undefined;
  out.additional_special_tokens = (config.additional_special_tokens ?? [])
    .map(specialTokenContent)
    .filter((s): s is string => s !== null);
  // transformers has defaulted this to false since 4.45; tokenizers.js would default to true.
  out.clean_up_tokenization_spaces = config.clean_up_tokenization_spaces ?? false;
  return out;
}

/** Lower-case ASCII letters that Unicode simple case folding also reaches from a non-ASCII letter. */
const EXTRA_FOLDS: Partial<Record<string, string>> = { k: '\u212a', s: '\u017f' }; // KELVIN SIGN, LONG S

/**
 * A regex with its `(?i:...)` groups of plain ASCII literals written out as character classes.
 * tokenizers (Oniguruma) and Python's `regex` fold such a group with Unicode simple case folding, so
 * Qwen2's `(?i:'s|'t|...)` also takes "'ſ" (U+017F folds to s); tokenizers.js rewrites the group for
 * ASCII case only. Each letter here becomes [xX] plus its non-ASCII fold partner; a group with
 * anything but literals and `|` is left to the library.
 */
export function caseFoldInlineGroups(regex: string): string {
  return regex.replace(/\(\?i:([^)]*)\)/g, (group: string, body: string, at: number) => {
    let slashes = 0;
    for (let i = at - 1; i >= 0 && regex[i] === '\\'; i--) slashes++;
    if (slashes % 2 === 1 || !/^[\x20-\x7e]*$/.test(body) || /[\\()[\]{}.*+?^$]/.test(body)) return group;
    const folded = Array.from(body, (c) => {
      const lower = c.toLowerCase();
      if (!/^[a-z]$/.test(lower)) return c;
      return `[${lower}${lower.toUpperCase()}${EXTRA_FOLDS[lower] ?? ''}]`;
    });
    return `(?:${folded.join('')})`;
  });
}

/** A normalizer / pre-tokenizer / decoder config with its Regex patterns passed through caseFoldInlineGroups. */
function foldPatterns(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(foldPatterns);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === 'Regex' && typeof value === 'string' ? caseFoldInlineGroups(value) : foldPatterns(value);
  }
  return out;
}

/** The tokenizer.json handed to tokenizers.js: as given, with the regexes' inline case-folding made explicit. */
function libraryJson(json: TokenizerJson): TokenizerJson {
  return {
    ...json,
    normalizer: foldPatterns(json.normalizer),
    pre_tokenizer: foldPatterns(json.pre_tokenizer),
    decoder: foldPatterns(json.decoder),
  };
}

/** A sentinel no vocabulary holds, used to ask the post-processor where the text goes. */
const SENTINEL = '\u0000vlv-sequence\u0000';

/** A loaded tokenizer; see loadTokenizer() (lib/tokenizer-files.ts) to read one from a model folder. */
export class Tokenizer {
  /** Number of ids: the vocabulary plus added tokens (max id + 1), like transformers' len(tokenizer). */
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  readonly unkTokenId: number | null;
  /** model_max_length from tokenizer_config.json, when it is a real limit. */
  readonly modelMaxLength: number | null;
  /** Default padding side (tokenizer_config.json's padding_side, else 'right'). */
  readonly paddingSide: PaddingSide;

  private readonly lib: HfTokenizer;
  /** Special-token ids the post-processor puts before / after a single text. */
  private readonly prefixIds: number[];
  private readonly suffixIds: number[];
  /** CLIP-style models mark word ends ('</w>'); their fast tokenizer strips the decoded text. */
  private readonly stripDecoded: boolean;

  /**
   * Builds a tokenizer from a parsed tokenizer.json and tokenizer_config.json. `source` names
   * where they came from, for error messages.
   */
  constructor(
    readonly json: TokenizerJson,
    readonly config: TokenizerConfig = {},
    readonly source = 'tokenizer.json',
  ) {
    try {
      this.lib = new HfTokenizer(libraryJson(json), libraryConfig(config));
    } catch (e) {
      throw new VlvError('E_FILE_FORMAT', `tokenizer: ${source} is not a usable tokenizer: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const model = this.lib.model;
    if (!model) throw new VlvError('E_FILE_FORMAT', `tokenizer: ${source} has no model`);
    this.vocabSize = model.vocab.length;
    const idOf = (v: SpecialTokenValue): number | null => {
      const s = specialTokenContent(v);
      return s === null ? null : (this.lib.token_to_id(s) ?? null);
    };
    this.bosTokenId = idOf(config.bos_token);
    this.eosTokenId = idOf(config.eos_token);
    this.padTokenId = idOf(config.pad_token);
    this.unkTokenId = idOf(config.unk_token) ?? model.unk_token_id ?? null;
    const mml = config.model_max_length;
    this.modelMaxLength = typeof mml === 'number' && Number.isInteger(mml) && mml > 0 && mml < 1e12 ? mml : null;
    this.paddingSide = config.padding_side === 'left' ? 'left' : 'right';
    this.stripDecoded = Boolean(model.end_of_word_suffix);
    [this.prefixIds, this.suffixIds] = this.specialTemplate();
  }

  /** Asks the library's post-processor where a single text sits among the special tokens. */
  private specialTemplate(): [number[], number[]] {
    const pp = this.lib.post_processor;
    if (!pp) return [[], []];
    const tokens = pp.post_process([SENTINEL], null, true).tokens;
    const at = tokens.indexOf(SENTINEL);
    if (at < 0 || tokens.includes(SENTINEL, at + 1)) {
      throw new VlvError(
        'E_FILE_FORMAT',
        `tokenizer: ${this.source}: the post-processor's single-text template is not understood`,
      );
    }
    const ids = (ts: string[]) =>
      ts.map((t) => {
        const id = this.lib.token_to_id(t);
        if (id === undefined) {
          throw new VlvError(
            'E_FILE_FORMAT',
            `tokenizer: ${this.source}: special token ${JSON.stringify(t)} is not in the vocabulary`,
          );
        }
        return id;
      });
    return [ids(tokens.slice(0, at)), ids(tokens.slice(at + 1))];
  }

  /** Number of special tokens encode() adds around a text. */
  get numSpecialTokens(): number {
    return this.prefixIds.length + this.suffixIds.length;
  }

  tokenToId(token: string): number | undefined {
    return this.lib.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.lib.id_to_token(id);
  }

  /** The token strings of a text, without special tokens (e.g. ['hello', 'Ġworld']). */
  tokenize(text: string): string[] {
    checkText(text, 'tokenize');
    return this.lib.tokenize(text, { add_special_tokens: false });
  }

  /** Token ids of one text, with truncation and padding as transformers' tokenizer(text, ...) does. */
  encode(text: string, opts: EncodeOptions = {}): Encoded {
    checkText(text, 'encode');
    const ids = this.encodeUnpadded(text, opts);
    const padding = opts.padding ?? false;
    if (padding === false) return { ids, attentionMask: ids.map(() => 1) };
    checkPadding(padding, 'encode');
    const target = padding === 'max_length' ? this.lengthLimit(opts, 'padding') : ids.length;
    const pad = ids.length < target ? this.requirePad('encode') : 0;
    return padTo(ids, target, pad, opts.paddingSide ?? this.paddingSide);
  }

  /** Token ids of several texts as a rectangular batch, padded to the longest (or to maxLength). */
  encodeBatch(texts: readonly string[], opts: BatchEncodeOptions = {}): BatchEncoded {
    const given: unknown = texts; // from JS anything can come; checked without narrowing `texts`
    if (!Array.isArray(given)) throw new VlvError('E_ARG', 'encodeBatch: texts must be an array of strings');
    texts.forEach((t, i) => checkText(t, `encodeBatch: texts[${i}]`));
    const padding = opts.padding ?? 'longest';
    checkPadding(padding, 'encodeBatch');
    const rows = texts.map((t) => this.encodeUnpadded(t, opts));
    let target = rows.reduce((m, r) => Math.max(m, r.length), 0);
    if (padding === 'max_length') target = Math.max(target, this.lengthLimit(opts, 'padding'));
    const pad = rows.some((r) => r.length < target) ? this.requirePad('encodeBatch') : 0;
    const side = opts.paddingSide ?? this.paddingSide;
    const out: BatchEncoded = { ids: [], attentionMask: [] };
    for (const r of rows) {
      const e = padTo(r, target, pad, side);
      out.ids.push(e.ids);
      out.attentionMask.push(e.attentionMask);
    }
    return out;
  }

  /** Text of a list of ids. Ids with no token (e.g. a model's padded embedding rows) are skipped. */
  decode(ids: ArrayLike<number | bigint>, opts: DecodeOptions = {}): string {
    const known: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const v = ids[i];
      const id = typeof v === 'bigint' ? Number(v) : v;
      if (typeof id !== 'number' || !Number.isInteger(id)) {
        throw new VlvError('E_ARG', `decode: ids[${i}] is ${String(v)}, not an integer`);
      }
      if (this.lib.id_to_token(id) !== undefined) known.push(id);
    }
    if (known.length === 0) return '';
    const text = this.lib.decode(known, { skip_special_tokens: opts.skipSpecialTokens ?? false });
    return this.stripDecoded ? text.trim() : text;
  }

  decodeBatch(rows: readonly ArrayLike<number | bigint>[], opts: DecodeOptions = {}): string[] {
    return rows.map((r) => this.decode(r, opts));
  }

  /**
   * A new tokenizer with more added tokens (e.g. Florence-2's processor adds <loc_0>... and task
   * tokens as special tokens). Tokens already known keep their id; new ones get the next ids.
   */
  withAddedTokens(tokens: readonly string[], { special = true }: { special?: boolean } = {}): Tokenizer {
    const added = [...this.json.added_tokens];
    let next = this.vocabSize;
    const fresh = new Set<string>();
    for (const content of tokens) {
      if (typeof content !== 'string' || content.length === 0) {
        throw new VlvError('E_ARG', `withAddedTokens: ${JSON.stringify(content)} is not a non-empty string`);
      }
      if (this.lib.token_to_id(content) !== undefined || fresh.has(content)) continue;
      fresh.add(content);
      added.push({
        id: next++,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: !special,
        special,
      });
    }
    const config: TokenizerConfig = { ...this.config };
    if (special) {
      config.additional_special_tokens = [...(this.config.additional_special_tokens ?? []), ...fresh];
    }
    return new Tokenizer({ ...this.json, added_tokens: added }, config, this.source);
  }

  /** The text's ids with special tokens, truncated when asked, not padded. */
  private encodeUnpadded(text: string, opts: EncodeOptions | BatchEncodeOptions): number[] {
    let body = this.lib.encode(text, { add_special_tokens: false }).ids;
    const special = opts.addSpecialTokens ?? true;
    const nSpecial = special ? this.numSpecialTokens : 0;
    if (opts.truncation) {
      const limit = this.lengthLimit(opts, 'truncation');
      if (limit < nSpecial) {
        throw new VlvError('E_ARG', `encode: maxLength ${limit} leaves no room next to ${nSpecial} special tokens`);
      }
      if (body.length > limit - nSpecial) body = body.slice(0, limit - nSpecial);
    }
    return special ? [...this.prefixIds, ...body, ...this.suffixIds] : body;
  }

  /** maxLength, else modelMaxLength; an E_ARG when neither is set or maxLength is not a positive integer. */
  private lengthLimit(opts: { maxLength?: number }, why: 'truncation' | 'padding'): number {
    const m = opts.maxLength;
    if (m !== undefined) {
      if (!Number.isInteger(m) || m < 1)
        throw new VlvError('E_ARG', `encode: maxLength must be a positive integer, got ${m}`);
      return m;
    }
    if (this.modelMaxLength !== null) return this.modelMaxLength;
    throw new VlvError('E_ARG', `encode: ${why} needs maxLength (this tokenizer has no model_max_length)`);
  }

  private requirePad(op: string): number {
    if (this.padTokenId === null) {
      throw new VlvError('E_ARG', `${op}: padding needs a pad token, and ${this.source} names none (pad_token)`);
    }
    return this.padTokenId;
  }
}

function checkText(text: unknown, what: string): void {
  if (typeof text !== 'string') throw new VlvError('E_ARG', `${what}: text must be a string, got ${typeof text}`);
}

function checkPadding(padding: unknown, op: string): void {
  if (padding !== 'max_length' && padding !== 'longest') {
    throw new VlvError(
      'E_ARG',
      `${op}: padding must be 'max_length', 'longest'${op === 'encode' ? ' or false' : ''}, got ${String(padding)}`,
    );
  }
}

/** ids padded with `pad` on `side` up to `target` (never cut), with its attention mask. */
function padTo(ids: number[], target: number, pad: number, side: PaddingSide): Encoded {
  const n = Math.max(0, target - ids.length);
  const fill = new Array<number>(n).fill(pad);
  const ones = new Array<number>(ids.length).fill(1);
  const zeros = new Array<number>(n).fill(0);
  return side === 'left'
    ? { ids: [...fill, ...ids], attentionMask: [...zeros, ...ones] }
    : { ids: [...ids, ...fill], attentionMask: [...ones, ...zeros] };
}
