/**
 * `npm run bench [-- --json] [-- --quick] [-- name ...]`: runs every bench/*.bench.ts (or the
 * named ones) and prints one table, or one JSON object per row with --json.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { info } from '../lib/index.js';
import { torchAvailable, type BenchContext, type BenchRow } from './lib.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const only = args.filter((a) => !a.startsWith('--'));

const ctx: BenchContext = { quick, hasTorch: torchAvailable() };
const files = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.includes(f.replace('.bench.ts', '')))
  .sort();

const i = info();
if (!json) {
  console.log(
    `vlv ${i.version} bench — simd ${i.simd}, ${i.threads} threads, torch peer ${ctx.hasTorch ? 'yes' : 'no'}`,
  );
  console.log(
    'name'.padEnd(28) +
      'shape'.padEnd(24) +
      'ours'.padStart(12) +
      '  unit'.padEnd(10) +
      'peer'.padEnd(16) +
      'peer val'.padStart(10) +
      'ratio'.padStart(8),
  );
}
const fmt = (v: number | null) =>
  v == null ? '-' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3);
for (const f of files) {
  const mod = (await import(join(import.meta.dirname, f))) as {
    run(ctx: BenchContext): BenchRow[] | Promise<BenchRow[]>;
  };
  const rows = await mod.run(ctx);
  for (const r of rows) {
    if (json) console.log(JSON.stringify(r));
    else
      console.log(
        r.name.padEnd(28) +
          r.shape.padEnd(24) +
          fmt(r.value).padStart(12) +
          `  ${r.unit}`.padEnd(10) +
          (r.peer ?? '-').padEnd(16) +
          fmt(r.peerValue).padStart(10) +
          (r.ratio == null ? '-' : r.ratio.toFixed(2) + 'x').padStart(8) +
          (r.note ? `  ${r.note}` : ''),
      );
  }
}
