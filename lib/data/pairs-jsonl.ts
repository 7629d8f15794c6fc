/** JSONL pairs: one JSON object per line (`{"image": "a.jpg", "caption": "..."}`); blank lines are passed over. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { VlvError } from '../errors.js';
import { pickField, type PairFileOptions, type RawPair } from './pair-rows.js';

export async function readJsonlPairs(file: string, opts: PairFileOptions): Promise<RawPair[]> {
  const out: RawPair[] = [];
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    const text = n === 1 ? line.replace(/^\uFEFF/, '') : line;
    if (text.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (e) {
      throw new VlvError('E_FILE_FORMAT', `${file}:${n}: not JSON: ${(e as Error).message}`, { cause: e });
    }
    if (!row || typeof row !== 'object' || Array.isArray(row))
      throw new VlvError('E_FILE_FORMAT', `${file}:${n}: not a JSON object`);
    const obj = row as Record<string, unknown>;
    const has = (k: string) => k in obj;
    const image = pickField(has, opts.imageField, ['image', 'file']);
    const caption = pickField(has, opts.captionField, ['caption', 'text']);
    out.push({ where: `${file}:${n}`, image: obj[image], caption: obj[caption] });
  }
  return out;
}
