// `vlv inspect`: run as a child process from the TypeScript sources (lib/cli-main.ts), so
// the exit status and the printed lines are what a user sees.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, saveSafetensors } from '../../lib/index.js';

const root = join(import.meta.dirname, '..', '..');

function vlv(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'lib', 'cli-main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('inspect a good file: exit 0, every tensor with dtype and shape, totals', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlv-inspect-'));
  const file = join(dir, 'weights.safetensors');
  await saveSafetensors(
    file,
    { 'enc.weight': Tensor.zeros([3, 4]), 'enc.bias': Tensor.zeros([4], 'bf16'), steps: Tensor.zeros([1], 'i64') },
    { format: 'pt' },
  );
  const r = vlv('inspect', file);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /enc\.weight\s+F32\s+\[3, 4\]/);
  t.regex(r.stdout, /enc\.bias\s+BF16\s+\[4\]/);
  t.regex(r.stdout, /steps\s+I64\s+\[1\]/);
  t.regex(r.stdout, /metadata: \{"format":"pt"\}/);
  t.regex(r.stdout, /total: 3 tensors, 17 parameters, 64 B/);
});

test('inspect a folder prints its config.json', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlv-inspect-'));
  await saveSafetensors(join(dir, 'model.safetensors'), { w: Tensor.zeros([2, 2]) });
  writeFileSync(join(dir, 'config.json'), '{"hidden_size":2,"model_type":"tiny"}');
  const r = vlv('inspect', dir);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /w\s+F32\s+\[2, 2\]/);
  t.regex(r.stdout, /config\.json:\n\{\n {2}"hidden_size": 2,\n {2}"model_type": "tiny"\n\}/);
});

test('inspect a bad file: exit 2 and the code with the message', (t) => {
  const bad = join(root, 'test', 'fixtures', 'safetensors-bad', 'shape-size-mismatch.safetensors');
  const r = vlv('inspect', bad);
  t.is(r.status, 2);
  t.is(
    r.stderr.trim(),
    `vlv inspect: E_FILE_FORMAT: ${bad}: tensor 'w': data_offsets [0,12] span 12 bytes but F32[2,2] needs 16`,
  );
  t.is(r.stdout, '');
});

test('inspect a missing path: exit 2 with E_FILE; no path: E_ARG', (t) => {
  const r = vlv('inspect', '/nonexistent/x.safetensors');
  t.is(r.status, 2);
  t.regex(r.stderr, /^vlv inspect: E_FILE: \/nonexistent\/x\.safetensors: no such file or directory/);
  const r2 = vlv('inspect');
  t.is(r2.status, 2);
  t.regex(r2.stderr, /^vlv inspect: E_ARG: usage: vlv inspect/);
});

test('inspect a torch.save checkpoint: names, dtypes, shapes and the tied aliases', (t) => {
  const file = join(root, 'test', 'fixtures', 'torch-checkpoint', 'state.pt');
  const r = vlv('inspect', file);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /state\.pt {2}\(6\.4 KiB, torch\.save zip read weights-only, 24 tensors, 1 tied\)/);
  t.regex(r.stdout, /\n {2}bf16\s+BF16\s+\[5, 3\]\n/);
  t.regex(r.stdout, /\n {2}i64\s+I64\s+\[2, 3\]\n/);
  t.regex(r.stdout, /\n {2}lm_head\.weight\s+F32\s+\[6, 4\] {2}= embed\.weight\n/);
  t.regex(r.stdout, /tied \(one storage, several names\):\n {2}lm_head\.weight = embed\.weight\n/);
  t.regex(r.stdout, /total: 24 tensors \(23 distinct\), 179 parameters, 694 B/);
});

test('inspect a bad torch.save checkpoint: exit 2 and the code with the message', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlv-inspect-'));
  const file = join(dir, 'legacy.pt');
  writeFileSync(
    file,
    Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]),
  );
  const r = vlv('inspect', file);
  t.is(r.status, 2);
  t.regex(r.stderr, /^vlv inspect: E_FILE_FORMAT: .*legacy\.pt: legacy torch\.save format/);
  t.is(r.stdout, '');
});
