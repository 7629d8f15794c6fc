/**
 * loadTokenizer(folder): a Tokenizer from a Hugging Face model folder. tokenizer.json (+
 * tokenizer_config.json, special_tokens_map.json) when there is one; otherwise the slow
 * tokenizer's vocab.json + merges.txt for the CLIP, BART/RoBERTa and Qwen2 families, converted in
 * memory by lib/tokenizer-legacy.ts. A missing file is E_FILE, unparsable JSON or a file that
 * does not describe a tokenizer is E_FILE_FORMAT; both name the file.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VlvError } from './errors.js';
import { legacyFamily, legacyTokenizerJson, parseMerges, type LegacyFamily } from './tokenizer-legacy.js';
import { Tokenizer, type TokenizerConfig, type TokenizerJson } from './tokenizer.js';

export interface LoadTokenizerOptions {
  /** For a folder without tokenizer.json: which slow tokenizer it holds, when tokenizer_class does not say. */
  family?: LegacyFamily;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new VlvError('E_FILE', `tokenizer: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** A JSON object read from path; E_FILE if unreadable, E_FILE_FORMAT if not a JSON object. */
async function readJsonObject<T>(path: string): Promise<T> {
  const text = await readText(path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new VlvError('E_FILE_FORMAT', `tokenizer: ${path} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new VlvError('E_FILE_FORMAT', `tokenizer: ${path} must hold a JSON object`);
  }
  return value as T;
}

async function readOptionalJson<T>(path: string): Promise<T | undefined> {
  return (await exists(path)) ? readJsonObject<T>(path) : undefined;
}

/** tokenizer_config.json with special_tokens_map.json's entries over it (as transformers merges them). */
async function readConfig(folder: string): Promise<TokenizerConfig> {
  const config = (await readOptionalJson<TokenizerConfig>(join(folder, 'tokenizer_config.json'))) ?? {};
  const map = (await readOptionalJson<TokenizerConfig>(join(folder, 'special_tokens_map.json'))) ?? {};
  return { ...config, ...map };
}

/** Loads the tokenizer of a Hugging Face model folder. */
export async function loadTokenizer(folder: string, opts: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  let dir;
  try {
    dir = await stat(folder);
  } catch (e) {
    throw new VlvError('E_FILE', `tokenizer: cannot read folder ${folder}: ${(e as Error).message}`, { cause: e });
  }
  if (!dir.isDirectory()) throw new VlvError('E_FILE', `tokenizer: ${folder} is not a folder`);
  const config = await readConfig(folder);

  const jsonPath = join(folder, 'tokenizer.json');
  if (await exists(jsonPath)) {
    const json = await readJsonObject<TokenizerJson>(jsonPath);
    if (!json.model || typeof json.model !== 'object') {
      throw new VlvError('E_FILE_FORMAT', `tokenizer: ${jsonPath} has no "model" object`);
    }
    const complete: TokenizerJson = {
      ...json,
      added_tokens: Array.isArray(json.added_tokens) ? json.added_tokens : [],
      normalizer: json.normalizer ?? null,
      pre_tokenizer: json.pre_tokenizer ?? null,
      post_processor: json.post_processor ?? null,
      decoder: json.decoder ?? null,
    };
    return new Tokenizer(complete, config, jsonPath);
  }

  const vocabPath = join(folder, 'vocab.json');
  const mergesPath = join(folder, 'merges.txt');
  for (const p of [vocabPath, mergesPath]) {
    if (!(await exists(p))) {
      throw new VlvError(
        'E_FILE',
        `tokenizer: ${folder} has no tokenizer.json, and ${p} is missing for a vocab.json + merges.txt tokenizer`,
      );
    }
  }
  const vocab = await readJsonObject<Record<string, number>>(vocabPath);
  for (const [token, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || id < 0) {
      throw new VlvError(
        'E_FILE_FORMAT',
        `tokenizer: ${vocabPath}: id of ${JSON.stringify(token)} is not a non-negative integer`,
      );
    }
  }
  const merges = parseMerges(await readText(mergesPath), mergesPath);
  const addedTokens = await readOptionalJson<Record<string, number>>(join(folder, 'added_tokens.json'));
  const family = opts.family ?? legacyFamily(config, vocab);
  if (!family) {
    throw new VlvError(
      'E_FILE_FORMAT',
      `tokenizer: ${folder}: cannot tell which tokenizer vocab.json + merges.txt belong to (tokenizer_class ${JSON.stringify(config.tokenizer_class ?? null)}); pass { family: 'clip' | 'bart' | 'qwen2' }`,
    );
  }
  const built = legacyTokenizerJson(family, { vocab, merges, config, ...(addedTokens ? { addedTokens } : {}) });
  return new Tokenizer(built.json, built.config, `${vocabPath} + merges.txt`);
}
