/**
 * Brace patterns for shard lists, as WebDataset and img2dataset write them:
 * `data-{00000..00009}.tar` (a numeric range; a bound with leading zeros pads every number to
 * its width), `{a,b,c}` (a list), several groups (every combination, left to right), nested
 * groups. Text without braces is itself.
 */
import { VlvError } from '../errors.js';

/** The innermost-first expansion of one pattern, in order. */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) {
    if (pattern.includes('}')) throw new VlvError('E_ARG', `shard pattern ${pattern}: a '}' without its '{'`);
    return [pattern];
  }
  // The group's matching '}' (groups may nest).
  let depth = 0,
    close = -1;
  const commas: number[] = [];
  for (let i = open; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '{') depth++;
    else if (ch === '}') {
      depth--;
      if (depth === 0) {
        close = i;
        break;
      }
    } else if (ch === ',' && depth === 1) commas.push(i);
  }
  if (close < 0) throw new VlvError('E_ARG', `shard pattern ${pattern}: a '{' without its '}'`);
  const before = pattern.slice(0, open);
  const inner = pattern.slice(open + 1, close);
  const after = pattern.slice(close + 1);
  let options: string[];
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(inner);
  if (commas.length === 0 && range) {
    const [, a, b] = range as unknown as [string, string, string];
    const from = Number(a),
      to = Number(b);
    const width = /^-?0\d/.test(a) || /^-?0\d/.test(b) ? Math.max(a.replace('-', '').length, b.length) : 0;
    const step = from <= to ? 1 : -1;
    if (Math.abs(to - from) > 10_000_000) throw new VlvError('E_ARG', `shard pattern ${pattern}: range too long`);
    options = [];
    for (let v = from; step > 0 ? v <= to : v >= to; v += step)
      options.push((v < 0 ? '-' : '') + String(Math.abs(v)).padStart(width, '0'));
  } else if (commas.length > 0) {
    const cuts = [open, ...commas, close];
    options = [];
    for (let k = 0; k + 1 < cuts.length; k++) options.push(...expandBraces(pattern.slice(cuts[k]! + 1, cuts[k + 1])));
  } else options = expandBraces(inner).map((x) => `{${x}}`); // `{x}`: not a group, kept as text
  const rest = expandBraces(after);
  const out: string[] = [];
  for (const o of options) for (const r of rest) out.push(before + o + r);
  return out;
}
