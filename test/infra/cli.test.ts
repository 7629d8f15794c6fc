// The CLI as a user runs it: exit codes and output, never a stack dump.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(root, 'lib', 'cli-main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, VLV_NUM_THREADS: '2' },
  });

test('vlv info prints the backend, SIMD level, threads and the CUDA status', (t) => {
  const r = cli('info');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /backend: +(cpu|cuda)/);
  t.regex(r.stdout, /simd: +(scalar|avx2|avx512)/);
  t.regex(r.stdout, /threads: +2/);
  t.regex(r.stdout, /cuda: +/);
  const j = cli('info', '--json');
  t.is(j.status, 0);
  const parsed = JSON.parse(j.stdout) as { threads: number; cuda: { available: boolean } };
  t.is(parsed.threads, 2);
});

test('VLV_DEVICE=cpu turns CUDA off and says so', (t) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'lib', 'cli-main.ts'), 'info'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, VLV_DEVICE: 'cpu' },
  });
  t.is(r.status, 0);
  t.regex(r.stdout, /cuda: +off — off by request: VLV_DEVICE=cpu/);
});

test('an unknown command exits 2 with the usage', (t) => {
  const r = cli('frobnicate');
  t.is(r.status, 2);
  t.regex(r.stderr, /unknown command 'frobnicate'/);
});

test('vlv demo trains: the loss falls', (t) => {
  const r = cli('demo', '--steps', '60');
  t.is(r.status, 0, r.stderr);
  const m = /loss ([\d.]+) -> ([\d.]+) in 60 steps/.exec(r.stdout);
  t.truthy(m, r.stdout);
  t.true(Number(m![2]) < 0.5 * Number(m![1]), r.stdout);
});
