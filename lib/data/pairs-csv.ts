/**
 * CSV pairs (csv-parse: RFC 4180 quoting, a BOM dropped, empty lines passed over): a header
 * row naming the columns, the image column `image` or `file`, the caption column `caption` or
 * `text`; a .tsv file is split at tabs.
 */
import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { parse } from 'csv-parse';
import { VlvError } from '../errors.js';
import { pickField, type PairFileOptions, type RawPair } from './pair-rows.js';

export async function readCsvPairs(file: string, opts: PairFileOptions): Promise<RawPair[]> {
  const parser = createReadStream(file).pipe(
    parse({ bom: true, skip_empty_lines: true, delimiter: extname(file).toLowerCase() === '.tsv' ? '\t' : ',' }),
  );
  const out: RawPair[] = [];
  let header: string[] | undefined;
  let imageCol = -1,
    captionCol = -1;
  let n = 0;
  try {
    for await (const rec of parser as AsyncIterable<string[]>) {
      n++;
      if (!header) {
        header = rec.map((h) => h.trim());
        const has = (k: string) => header!.includes(k);
        const image = pickField(has, opts.imageField, ['image', 'file']);
        const caption = pickField(has, opts.captionField, ['caption', 'text']);
        imageCol = header.indexOf(image);
        captionCol = header.indexOf(caption);
        if (imageCol < 0)
          throw new VlvError('E_FILE_FORMAT', `${file}: the header (${header.join(', ')}) has no '${image}' column`);
        continue;
      }
      out.push({
        where: `${file} record ${n}`,
        image: rec[imageCol],
        caption: captionCol < 0 ? undefined : rec[captionCol],
      });
    }
  } catch (e) {
    if (e instanceof VlvError) throw e;
    throw new VlvError('E_FILE_FORMAT', `${file}: not CSV: ${(e as Error).message}`, { cause: e });
  }
  return out;
}
