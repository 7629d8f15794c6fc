// Stage-2 training on the golden tiny VLV captioner and generated (image, caption) pairs (CPU):
// 100 steps bring the caption loss down, the frozen parts (queries, language_proj, CLIP,
// Florence-2's vision tower) stay bit-identical, the trained ones move; the evaluation logs
// captions of the eval set beside their references; the checkpoint loads as a captioner.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VlvModel } from '../../lib/index.js';
import { train } from '../../lib/train/index.js';
import { goldenPath } from '../helpers/golden.js';
import { makeImages, memoryLoader } from '../helpers/memory-loader.js';

const base = goldenPath('vlv_caption');
const tmp = mkdtempSync(join(tmpdir(), 'vlv-train2-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));
const CAPTIONS = [
  'a red striped square.',
  'a blue gradient with thin lines.',
  'green and yellow bands.',
  'a purple pattern of stripes.',
];
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;

const run = (async () => {
  const files = await makeImages(tmp, 4);
  const out = join(tmp, 'run');
  const t0 = performance.now();
  const r = await train('stage2', {
    model: base,
    out,
    data: (o) =>
      memoryLoader(
        files.map((file, i) => ({ file, caption: CAPTIONS[i]! })),
        o,
      ),
    steps: 100,
    batch: 4,
    lr: 1e-3,
    schedule: 'constant',
    saveEvery: 100,
    evalEvery: 100,
    evalMaxNewTokens: 12,
    maxCaptionTokens: 32,
  });
  return { r, out, seconds: (performance.now() - t0) / 1000 };
})();

test('100 steps: the caption loss of the last 20 steps is far below the first 20', async (t) => {
  const { r, seconds } = await run;
  t.log(`100 stage-2 steps (batch 4) in ${seconds.toFixed(1)} s`);
  t.is(r.step, 100);
  const first = mean(r.losses.slice(0, 20)),
    last = mean(r.losses.slice(-20));
  t.log(`mean loss: first 20 ${first.toFixed(4)}, last 20 ${last.toFixed(4)}`);
  t.true(last < 0.5 * first);
});

test('frozen parameters bit-identical, trained ones changed; the checkpoint is a captioner folder', async (t) => {
  const { r } = await run;
  const before = await VlvModel.load(base, { use: 'stage2' });
  const after = await VlvModel.load(r.checkpoint!, { use: 'caption' });
  const trainable = Object.keys(before.trainableParameters(2));
  const a = before.parameters(),
    b = after.parameters();
  let frozen = 0,
    changed = 0;
  for (const [name, p] of Object.entries(a)) {
    const same = Buffer.from(p.toFloat32().buffer).equals(Buffer.from(b[name]!.toFloat32().buffer));
    if (!trainable.includes(name)) {
      t.true(same, `${name} (frozen) is bit-identical`);
      frozen++;
    } else if (!same) changed++;
  }
  t.true(frozen > 0);
  // Every trained tensor that the caption loss reaches moves (Florence-2's unread lm_head does not).
  t.true(changed >= trainable.length - 4, `${changed} of ${trainable.length} changed`);
  before.dispose();
  after.dispose();
});

test('evaluation: greedy captions of the eval set beside their references in eval.jsonl', async (t) => {
  const { out } = await run;
  const lines = readFileSync(join(out, 'eval.jsonl'), 'utf8').trim().split('\n');
  const ev = JSON.parse(lines.at(-1)!) as {
    step: number;
    captions: { key: string; caption: string; reference: string }[];
  };
  t.is(ev.step, 100);
  t.is(ev.captions.length, 4);
  for (const c of ev.captions) {
    t.true(CAPTIONS.includes(c.reference));
    t.is(typeof c.caption, 'string');
  }
  // Overfitting four pairs: most captions start as their reference does.
  const hits = ev.captions.filter((c) => c.reference.startsWith(c.caption.split(' ').slice(0, 2).join(' '))).length;
  t.true(hits >= 2, JSON.stringify(ev.captions));
});
