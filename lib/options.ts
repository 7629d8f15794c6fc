/**
 * Options at the public surface are camelCase (`ops.runOp('matmul', [a, b], { transB: true })`,
 * `model.run('generate', inputs, { maxNewTokens: 8 })`); the engine's attributes are snake_case
 * (csrc: trans_b, max_new_tokens). This module is the one place that converts: every call into
 * the engine with options (ops.runOp / runOpSync, Model.run, the guided sampler) passes them
 * through engineAttrs. A snake_case key is an E_ARG that names its camelCase spelling.
 */
import { VlvError } from './errors.js';
import type { AttrValue, Attrs } from './native.js';

/** Options by camelCase name; undefined values are left out. */
export type Options = Readonly<Record<string, AttrValue | undefined>>;

const toEngine = new Map<string, string>();

/** 'maxNewTokens' -> 'max_new_tokens', 'prevX0Coef' -> 'prev_x0_coef'. */
export function snakeCase(name: string): string {
  let s = toEngine.get(name);
  if (s === undefined) {
    s = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    toEngine.set(name, s);
  }
  return s;
}

/** 'max_new_tokens' -> 'maxNewTokens': for data written in the engine's (Python's) spelling. */
export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** camelCase options -> the engine's attributes; `where` names the call in errors. */
export function engineAttrs(options: Options, where: string): Attrs {
  const attrs: Attrs = {};
  for (const key of Object.keys(options)) {
    const value = options[key];
    if (value === undefined) continue;
    if (key.includes('_'))
      throw new VlvError('E_ARG', `${where}: options are camelCase: '${key}' is spelled '${camelCase(key)}'`);
    attrs[snakeCase(key)] = value;
  }
  return attrs;
}

/** Attributes in the engine's spelling (a fixture file, Python keyword arguments) -> options. */
export function optionsFromEngine(attrs: Readonly<Record<string, AttrValue | undefined>>): Options {
  const options: Record<string, AttrValue | undefined> = {};
  for (const [key, value] of Object.entries(attrs)) options[camelCase(key)] = value;
  return options;
}
