// The benchmarks keep running: every bench/*.bench.ts in --quick mode prints well-formed rows
// with positive values (peers may be absent on a machine without them). Speed itself is
// judged by `npm run bench`, never here.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

test('npm run bench -- --quick --json: every bench runs and prints well-formed rows', (t) => {
  const root = join(import.meta.dirname, '..', '..');
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench', 'run.ts'), '--quick', '--json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
  });
  t.is(r.status, 0, r.stderr);
  const rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { name: string; value: number; unit: string; ratio: number | null; note?: string });
  const names = new Set(rows.map((row) => row.name.split(' ')[0]));
  for (const family of ['gemm', 'attention', 'conv2d', 'ceiling', 'decode', 'unet', 'vlv'])
    t.true(names.has(family), `no ${family} row in ${[...names].join(', ')}`);
  for (const row of rows) {
    if (row.name.includes('gpu')) continue; // CUDA rows say why they are off
    t.true(Number.isFinite(row.value) && row.value > 0, `${row.name}: ${row.value} ${row.unit}`);
    t.true(row.ratio === null || (Number.isFinite(row.ratio) && row.ratio > 0), `${row.name}: ratio ${row.ratio}`);
  }
});
