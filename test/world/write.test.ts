// writeWorld (lib/world/write.ts) from TypeScript: progress to the total, an aborted call leaves
// no captions.jsonl, and n must be positive.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeWorld, type Progress, type VlvError } from '../../lib/index.js';

const temp = () => mkdtempSync(join(tmpdir(), 'vlv-world-write-'));

test('progress counts up to n; the captions file lists every image in order', async (t) => {
  const out = join(temp(), 'w');
  const seen: Progress[] = [];
  const written = await writeWorld({ out, n: 19, split: 'scenes', seed: 2, onProgress: (p) => seen.push(p) });
  t.is(written.captions, join(out, 'captions.jsonl'));
  t.is(written.scenes.length, 19);
  t.deepEqual(seen.at(-1), { stage: 'world', done: 19, total: 19 });
  t.true(seen.every((p, i) => i === 0 || p.done > seen[i - 1]!.done));
  const images = readFileSync(written.captions, 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { image: string }).image);
  t.deepEqual(
    images,
    Array.from({ length: 19 }, (_, i) => `images/${String(i).padStart(5, '0')}.png`),
  );
});

test('an aborted write is E_ABORTED and lists nothing', async (t) => {
  const out = join(temp(), 'w');
  const ac = new AbortController();
  const e = await t.throwsAsync<VlvError>(
    writeWorld({ out, n: 40, split: 'train', seed: 1, signal: ac.signal, onProgress: () => ac.abort() }),
  );
  t.is(e?.code, 'E_ABORTED');
  t.false(existsSync(join(out, 'captions.jsonl')));
  t.is((await t.throwsAsync<VlvError>(writeWorld({ out, n: 0, split: 'train', seed: 1 })))?.code, 'E_ARG');
});
