/**
 * The tokenizer.json that transformers' slow-to-fast converters (convert_slow_tokenizer.py:
 * CLIPConverter, RobertaConverter for BartTokenizer) would write for a folder that only has the
 * slow tokenizer's files (vocab.json + merges.txt + special tokens), built in memory so that
 * tokenizers.js runs exactly what CLIPTokenizerFast / BartTokenizerFast run.
 *
 * - CLIP: NFC, whitespace runs -> ' ', lower-case; the CLIP split regex (pieces kept, spaces
 *   dropped); byte-level mapping; BPE with the '</w>' end-of-word suffix and unk <|endoftext|>;
 *   <|startoftext|> text <|endoftext|>. Only the first 49152-256-2 merges are used, as
 *   CLIPTokenizer reads them.
 * - BART / RoBERTa: GPT-2 byte-level BPE (add_prefix_space from the config, default false),
 *   <s> text </s>; <mask> strips the space on its left.
 * - Qwen2 (Qwen2Converter): NFC; the Qwen split regex (pieces isolated); byte-level mapping
 *   without a prefix space; BPE with no unk; no special tokens around a text (Qwen has no bos).
 */
import { VlvError } from './errors.js';
import { specialTokenContent, type AddedTokenJson, type TokenizerConfig, type TokenizerJson } from './tokenizer.js';

export type LegacyFamily = 'clip' | 'bart' | 'qwen2';

/** CLIP's pre-tokenisation regex (the fast tokenizer's Split pattern; the text is lower-cased first). */
export const CLIP_SPLIT_REGEX = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";
/**
 * Qwen2's pre-tokenisation regex (Qwen2Converter's Split pattern, behaviour 'isolated'). Its `(?i:...)`
 * group is made explicit for tokenizers.js by caseFoldInlineGroups (lib/tokenizer.ts).
 */
export const QWEN2_SPLIT_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** CLIPTokenizer reads merges.txt lines 1 .. 49152-256-2. */
const CLIP_MAX_MERGES = 49152 - 256 - 2;

/** The slow tokenizers' default special tokens (their __init__ defaults). */
const DEFAULTS: Record<LegacyFamily, Partial<Record<string, string>>> = {
  clip: {
    unk_token: '<|endoftext|>',
    bos_token: '<|startoftext|>',
    eos_token: '<|endoftext|>',
    pad_token: '<|endoftext|>',
  },
  bart: {
    bos_token: '<s>',
    eos_token: '</s>',
    sep_token: '</s>',
    cls_token: '<s>',
    unk_token: '<unk>',
    pad_token: '<pad>',
    mask_token: '<mask>',
  },
  qwen2: {
    unk_token: '<|endoftext|>',
    eos_token: '<|endoftext|>',
    pad_token: '<|endoftext|>',
  },
};
const SPECIAL_KEYS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'];

/** Which slow tokenizer a folder holds: from tokenizer_class, else from the vocabulary's markers. */
export function legacyFamily(config: TokenizerConfig, vocab: Record<string, number>): LegacyFamily | null {
  const cls = (config.tokenizer_class ?? '').replace(/Fast$/, '');
  if (cls === 'CLIPTokenizer') return 'clip';
  if (cls === 'BartTokenizer' || cls === 'RobertaTokenizer') return 'bart';
  if (cls === 'Qwen2Tokenizer') return 'qwen2';
  if (cls !== '') return null;
  if ('<|startoftext|>' in vocab) return 'clip';
  if ('<s>' in vocab && '</s>' in vocab) return 'bart';
  return null;
}

/** merges.txt lines as pairs: the '#version' header and blank lines skipped. */
export function parseMerges(text: string, file = 'merges.txt'): [string, string][] {
  const out: [string, string][] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new VlvError(
        'E_FILE_FORMAT',
        `tokenizer: ${file} line ${i + 1} is not two tokens separated by one space: ${JSON.stringify(line)}`,
      );
    }
    out.push([parts[0]!, parts[1]!]);
  });
  return out;
}

export interface LegacyFiles {
  vocab: Record<string, number>;
  merges: [string, string][];
  /** tokenizer_config.json merged with special_tokens_map.json (the latter wins, as in transformers). */
  config: TokenizerConfig;
  /** added_tokens.json, if the folder has one. */
  addedTokens?: Record<string, number>;
}

/** The tokenizer.json (and config with the family's default special tokens filled in) for a slow tokenizer. */
export function legacyTokenizerJson(
  family: LegacyFamily,
  files: LegacyFiles,
): { json: TokenizerJson; config: TokenizerConfig } {
  const config: TokenizerConfig = { ...files.config };
  for (const [key, value] of Object.entries(DEFAULTS[family])) if (!(key in config)) config[key] = value;
  const added_tokens = addedTokens(family, files, config);
  const idOf = (key: string): [string, number] => {
    const content = specialTokenContent(config[key]);
    const id =
      content === null ? undefined : (files.vocab[content] ?? added_tokens.find((t) => t.content === content)?.id);
    if (content === null || id === undefined) {
      throw new VlvError('E_FILE_FORMAT', `tokenizer: ${key} ${JSON.stringify(content)} has no id in vocab.json`);
    }
    return [content, id];
  };
  const model = {
    type: 'BPE',
    dropout: null,
    unk_token: family === 'clip' ? specialTokenContent(config.unk_token) : null,
    continuing_subword_prefix: '',
    end_of_word_suffix: family === 'clip' ? '</w>' : '',
    fuse_unk: false,
    byte_fallback: false,
    vocab: files.vocab,
    merges: family === 'clip' ? files.merges.slice(0, CLIP_MAX_MERGES) : files.merges,
  };
  if (family === 'clip') {
    return {
      config,
      json: {
        added_tokens,
        normalizer: {
          type: 'Sequence',
          normalizers: [
            { type: 'NFC' },
            { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
            { type: 'Lowercase' },
          ],
        },
        pre_tokenizer: {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: CLIP_SPLIT_REGEX }, behavior: 'Removed', invert: true },
            { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
          ],
        },
        post_processor: {
          type: 'RobertaProcessing',
          sep: idOf('eos_token'),
          cls: idOf('bos_token'),
          trim_offsets: false,
          add_prefix_space: false,
        },
        decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
        model,
      },
    };
  }
  const addPrefixSpace = config.add_prefix_space === true;
  if (family === 'qwen2') {
    return {
      config,
      json: {
        added_tokens,
        normalizer: { type: 'NFC' },
        pre_tokenizer: {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: QWEN2_SPLIT_REGEX }, behavior: 'Isolated', invert: false },
            { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: false, use_regex: false },
          ],
        },
        post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
        decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
        model,
      },
    };
  }
  return {
    config,
    json: {
      added_tokens,
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true },
      post_processor: {
        type: 'RobertaProcessing',
        sep: idOf('sep_token'),
        cls: idOf('cls_token'),
        trim_offsets: true,
        add_prefix_space: addPrefixSpace,
      },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model,
    },
  };
}

/**
 * The added tokens a fast tokenizer would list: tokenizer_config.json's added_tokens_decoder,
 * added_tokens.json, then every special token (bos/eos/.../additional_special_tokens) not yet
 * listed, with its vocab.json id or, when absent, the next free id.
 */
function addedTokens(family: LegacyFamily, files: LegacyFiles, config: TokenizerConfig): AddedTokenJson[] {
  const out: AddedTokenJson[] = [];
  const byContent = new Map<string, AddedTokenJson>();
  let next = Object.values(files.vocab).reduce((m, id) => Math.max(m, id + 1), 0);
  const push = (t: AddedTokenJson) => {
    if (byContent.has(t.content)) return;
    out.push(t);
    byContent.set(t.content, t);
    next = Math.max(next, t.id + 1);
  };
  const decoder = config.added_tokens_decoder;
  if (decoder && typeof decoder === 'object') {
    for (const [id, v] of Object.entries(decoder as Record<string, Record<string, unknown>>)) {
      const content = specialTokenContent(v);
      if (content === null || !/^\d+$/.test(id)) {
        throw new VlvError(
          'E_FILE_FORMAT',
          `tokenizer: tokenizer_config.json added_tokens_decoder entry ${id} is malformed`,
        );
      }
      push({ ...tokenFlags(family, content, v, Boolean(v.special)), id: Number(id), content });
    }
  }
  for (const [content, id] of Object.entries(files.addedTokens ?? {})) {
    if (!Number.isInteger(id))
      throw new VlvError(
        'E_FILE_FORMAT',
        `tokenizer: added_tokens.json id of ${JSON.stringify(content)} is not an integer`,
      );
    push({ ...tokenFlags(family, content, undefined, false), id, content });
  }
  const specials = [...SPECIAL_KEYS.map((k) => config[k]), ...(config.additional_special_tokens ?? [])];
  for (const v of specials) {
    const content = specialTokenContent(v);
    if (content === null) continue;
    const known = byContent.get(content);
    if (known) {
      known.special = true;
      continue;
    }
    push({ ...tokenFlags(family, content, v, true), id: files.vocab[content] ?? next, content });
  }
  return out;
}

/** AddedToken flags: from the config's object form when given, else the slow tokenizer's defaults. */
function tokenFlags(
  family: LegacyFamily,
  content: string,
  v: unknown,
  special: boolean,
): Omit<AddedTokenJson, 'id' | 'content'> {
  const o = v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  const flag = (k: string, d: boolean) => (typeof o[k] === 'boolean' ? o[k] : d);
  return {
    single_word: flag('single_word', false),
    lstrip: flag('lstrip', family === 'bart' && content === '<mask>'),
    rstrip: flag('rstrip', false),
    // CLIP's specials are matched after lower-casing, like its fast tokenizer.json does.
    normalized: flag('normalized', family === 'clip' ? true : !special),
    special: flag('special', special),
  };
}
