// `vlv world generate|sample` run as a child process from the TypeScript sources: the files it
// says it wrote, the same bytes as the API for the same seed, and a dataset lib/data reads.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  WORLD_SAMPLE_CAPTIONS,
  generateWorldScenes,
  isTrainScene,
  openDataSource,
  parseWorldCaption,
  renderWorldScene,
  worldCaption,
  type ListedSource,
} from '../../lib/index.js';

const root = join(import.meta.dirname, '..', '..');

function vlv(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'lib', 'cli-main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const rows = (dir: string) =>
  readFileSync(join(dir, 'captions.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { image: string; caption: string });

test('generate writes n PNGs and captions.jsonl, the same as the API, and lib/data reads it', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'vlv-world-')), 'combos');
  const r = vlv('world', 'generate', '--n', '24', '--split', 'combos', '--seed', '7', '--out', dir);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), `${join(dir, 'captions.jsonl')}: 24 scenes (split combos, seed 7)`);
  t.regex(r.stderr, /world 24\/24/);
  t.is(readdirSync(join(dir, 'images')).length, 24);
  const scenes = generateWorldScenes('combos', 7, 24);
  const listed = rows(dir);
  t.deepEqual(
    listed,
    scenes.map((s, i) => ({ image: `images/${String(i).padStart(5, '0')}.png`, caption: worldCaption(s) })),
  );
  t.deepEqual(Object.keys(listed[0]!), ['image', 'caption']);
  for (const [i, s] of scenes.entries())
    t.true(readFileSync(join(dir, listed[i]!.image)).equals(await renderWorldScene(s)), `image ${i}`);
  t.false(listed.some((row) => isTrainScene(parseWorldCaption(row.caption))));

  const source = (await openDataSource(join(dir, 'captions.jsonl'))) as ListedSource;
  t.is(source.kind, 'listed');
  t.true(source.captioned);
  t.is(source.records.length, 24);
  t.deepEqual(
    source.records.map((r) => [r.file, r.caption]),
    listed.map((row) => [join(dir, row.image), row.caption]),
  );
  const meta = await sharp(source.records[3]!.file).metadata();
  t.like(meta, { width: 64, height: 64, channels: 3 });
});

test('generate: the same seed twice gives identical files; train is the default split', (t) => {
  const base = mkdtempSync(join(tmpdir(), 'vlv-world-'));
  const [a, b, c] = ['a', 'b', 'c'].map((n) => join(base, n));
  t.is(vlv('world', 'generate', '--n', '10', '--seed', '3', '--out', a!).status, 0);
  t.is(vlv('world', 'generate', '--n', '10', '--seed', '3', '--split', 'train', '--out', b!).status, 0);
  t.is(vlv('world', 'generate', '--n', '10', '--seed', '4', '--out', c!).status, 0);
  t.is(readFileSync(join(a!, 'captions.jsonl'), 'utf8'), readFileSync(join(b!, 'captions.jsonl'), 'utf8'));
  t.not(readFileSync(join(a!, 'captions.jsonl'), 'utf8'), readFileSync(join(c!, 'captions.jsonl'), 'utf8'));
  for (const f of readdirSync(join(a!, 'images')))
    t.true(readFileSync(join(a!, 'images', f)).equals(readFileSync(join(b!, 'images', f))), f);
  t.deepEqual(
    rows(a!).map((r) => r.caption),
    generateWorldScenes('train', 3, 10).map(worldCaption),
  );
});

test('sample writes the fixed sample scenes with their captions', (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'vlv-world-')), 'samples');
  const r = vlv('world', 'sample', '--out', dir);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(
    rows(dir).map((row) => row.caption),
    [...WORLD_SAMPLE_CAPTIONS],
  );
  for (const [i, c] of WORLD_SAMPLE_CAPTIONS.entries()) {
    t.true(existsSync(join(dir, 'images', `${String(i).padStart(5, '0')}.png`)));
    t.true(r.stdout.includes(`images/${String(i).padStart(5, '0')}.png  ${c}\n`));
  }
});

test('bad arguments: exit 2 with E_ARG and nothing written', (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'vlv-world-')), 'x');
  const cases: [string[], RegExp][] = [
    [['world'], /^vlv world: E_ARG: usage: vlv world generate/],
    [['world', 'paint', '--out', dir], /^vlv world: E_ARG: usage: vlv world generate/],
    [['world', 'generate', '--n', '5'], /^vlv world: E_ARG: missing --out/],
    [['world', 'generate', '--out', dir, '--split', 'test'], /--split takes train \| scenes \| combos, got 'test'/],
    [['world', 'generate', '--out', dir, '--n', '0'], /--n takes a positive integer/],
    [['world', 'generate', '--out', dir, '--n', 'ten'], /--n takes an integer/],
    [['world', 'generate', '--out', dir, '--seed', '1.5'], /--seed takes an integer/],
    [['world', 'generate', '--out', dir, '--colour', 'red'], /unknown argument '--colour'/],
    [['world', 'sample'], /^vlv world: E_ARG: missing --out/],
  ];
  for (const [args, message] of cases) {
    const r = vlv(...args);
    t.is(r.status, 2, args.join(' '));
    t.regex(r.stderr, message, args.join(' '));
  }
  t.false(existsSync(dir));
});
