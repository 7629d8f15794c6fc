/**
 * Generation options in TS spelling, their defaults from a model folder (config.json's
 * eos/pad ids, then generation_config.json, as transformers' GenerationConfig.from_model_config
 * and from_pretrained layer them), and their values as the engine reads them (csrc/models/generation.h).
 */
import { VlvError } from '../errors.js';
import type { AttrValue } from '../native.js';
import type { Options } from '../options.js';

export interface GenerateOptions {
  /** New tokens at most (default 20). */
  maxNewTokens?: number;
  /** > 1: beam search (generate() only). */
  numBeams?: number;
  numReturnSequences?: number;
  lengthPenalty?: number;
  /** transformers' three modes: true, false, 'never'. */
  earlyStopping?: boolean | 'never';
  /** One id or several; a row stops at any of them. */
  eosTokenId?: number | number[] | null;
  padTokenId?: number | null;
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Fixes sampling (Philox counter stream: the same tokens on every device). */
  seed?: number;
  repetitionPenalty?: number;
  noRepeatNgramSize?: number;
}

/** generation_config.json / config.json key -> option. */
const KEYS: [string, keyof GenerateOptions][] = [
  ['max_new_tokens', 'maxNewTokens'],
  ['num_beams', 'numBeams'],
  ['num_return_sequences', 'numReturnSequences'],
  ['length_penalty', 'lengthPenalty'],
  ['early_stopping', 'earlyStopping'],
  ['eos_token_id', 'eosTokenId'],
  ['pad_token_id', 'padTokenId'],
  ['do_sample', 'doSample'],
  ['temperature', 'temperature'],
  ['top_k', 'topK'],
  ['top_p', 'topP'],
  ['seed', 'seed'],
  ['repetition_penalty', 'repetitionPenalty'],
  ['no_repeat_ngram_size', 'noRepeatNgramSize'],
];

function pick(raw: Record<string, unknown>, keys: readonly string[]): GenerateOptions {
  const out: Record<string, unknown> = {};
  for (const [key, opt] of KEYS)
    if (keys.includes(key) && raw[key] !== undefined && raw[key] !== null) out[opt] = raw[key];
  return out;
}

/**
 * The defaults of a folder: eos/pad ids from config.json, overridden by every generation
 * option generation_config.json sets (its other keys, such as max_length, are not used).
 */
export function generationDefaults(
  config: Record<string, unknown>,
  generationConfig: Record<string, unknown> | null,
  source: string,
): GenerateOptions {
  const fromGen = generationConfig
    ? pick(
        generationConfig,
        KEYS.map(([k]) => k),
      )
    : {};
  for (const [k, v] of Object.entries(fromGen)) {
    const ok =
      typeof v === 'number' ||
      typeof v === 'boolean' ||
      v === 'never' ||
      (Array.isArray(v) && v.every(Number.isInteger));
    if (!ok)
      throw new VlvError('E_FILE_FORMAT', `CausalLM: ${source}: '${k}' has an unusable value ${JSON.stringify(v)}`);
  }
  return { ...pick(config, ['eos_token_id', 'pad_token_id']), ...fromGen };
}

/**
 * The generation options (and only those) as the model's generate() options, values in the
 * form the engine reads (earlyStopping as 'true' | 'false' | 'never', eosTokenId as a list);
 * Model.run turns the names into the engine's spelling.
 */
export function generationAttrs(o: GenerateOptions): Options {
  const attrs: Record<string, AttrValue> = {};
  for (const [, opt] of KEYS) {
    const v = o[opt];
    if (v === undefined || v === null) continue;
    if (opt === 'earlyStopping') attrs[opt] = v === 'never' ? 'never' : v ? 'true' : 'false';
    else if (opt === 'eosTokenId') attrs[opt] = Array.isArray(v) ? v : [v as number];
    else attrs[opt] = v;
  }
  return attrs;
}
