// Stage-1 training on the golden tiny VLV and a generated folder of images (CPU): 100 steps
// bring the loss down, the frozen parts stay bit-identical, the trained ones move; the run
// folder holds metrics.jsonl, loss.png, the reconstruction grid and checkpoints that load as
// VLV folders; an aborted run saves the step it finished; a dry run only reports.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { inspectSafetensors, VlvModel } from '../../lib/index.js';
import { listCheckpoints, readState, type TrainResult } from '../../lib/train/index.js';
import { train } from '../../lib/train/index.js';
import type { StepMetrics } from '../../lib/train/metrics.js';
import { goldenPath } from '../helpers/golden.js';
import { makeImages, memoryLoader } from '../helpers/memory-loader.js';

const base = goldenPath('vlv_stage1');
const tmp = mkdtempSync(join(tmpdir(), 'vlv-train1-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));
const images = makeImages(tmp, 4);
const data = async () => {
  const files = await images;
  return (o: Parameters<typeof memoryLoader>[1]) =>
    memoryLoader(
      files.map((file) => ({ file })),
      o,
    );
};
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const sd = (a: number[]) => Math.sqrt(mean(a.map((x) => (x - mean(a)) ** 2)));

/** The 100-step run the tests below look at. */
const run = (async () => {
  const out = join(tmp, 'run');
  const t0 = performance.now();
  const r = await train('stage1', {
    model: base,
    out,
    data: await data(),
    steps: 100,
    batch: 4,
    lr: 3e-3,
    schedule: 'constant',
    saveEvery: 50,
    keep: 2,
    evalEvery: 100,
    evalSteps: 3,
    ema: 0.9,
  });
  return { r, out, seconds: (performance.now() - t0) / 1000 };
})();

test('100 steps: the loss of the last 20 steps is clearly below the first 20', async (t) => {
  const { r, seconds } = await run;
  t.log(`100 stage-1 steps (batch 4) in ${seconds.toFixed(1)} s`);
  t.is(r.stopped, 'done');
  t.is(r.step, 100);
  t.is(r.losses.length, 100);
  const first = r.losses.slice(0, 20),
    last = r.losses.slice(-20);
  // The UNet is frozen: only the conditioning learns, so the drop is a few percent of a
  // noise-dominated MSE; "clearly" = by more than 1% and by 4 standard errors of the difference.
  const se = Math.sqrt((sd(first) ** 2 + sd(last) ** 2) / 20);
  t.log(`mean loss: first 20 ${mean(first).toFixed(4)}, last 20 ${mean(last).toFixed(4)} (s.e. ${se.toFixed(4)})`);
  t.true(mean(last) < mean(first) * 0.99, 'at least 1% lower');
  t.true(mean(first) - mean(last) > 4 * se, 'beyond the noise of the draws');
});

test('frozen parameters are bit-identical after training, every trained one changed; the checkpoint holds only the trainable set', async (t) => {
  const { r } = await run;
  const before = await VlvModel.load(base, { use: 'stage1' });
  const after = await VlvModel.load(r.checkpoint!, { use: 'stage1' });
  const trainable = Object.keys(before.trainableParameters(1));
  // Florence-2's lm_head and final_logits_bias are in the official set but stage 1 never reads them.
  const unread = ['model.language_model.lm_head.weight', 'model.language_model.final_logits_bias'];
  const a = before.parameters(),
    b = after.parameters();
  let frozen = 0,
    changed = 0;
  for (const [name, p] of Object.entries(a)) {
    const same = Buffer.from(p.toFloat32().buffer).equals(Buffer.from(b[name]!.toFloat32().buffer));
    if (!trainable.includes(name)) {
      t.true(same, `${name} (frozen) is bit-identical`);
      frozen++;
    } else if (unread.includes(name)) t.true(same, `${name} has no gradient in stage 1`);
    else {
      t.false(same, `${name} (trained) changed`);
      changed++;
    }
  }
  t.true(frozen > 300 && changed > 90, `${frozen} frozen, ${changed} changed`);
  const file = inspectSafetensors(join(r.checkpoint!, 'trainable.safetensors')).files[0]!;
  t.deepEqual(file.tensors.map((e) => e.name).sort(), [...trainable].sort());
  t.true(file.fileBytes < 0.3 * inspectSafetensors(join(base, 'model.safetensors')).files[0]!.fileBytes);
  const vlvJson = JSON.parse(readFileSync(join(r.checkpoint!, 'vlv.json'), 'utf8')) as Record<string, unknown>;
  t.is(vlvJson.checkpoint, join(base, 'model.safetensors'));
  t.is(vlvJson.overlay, 'trainable.safetensors');
  before.dispose();
  after.dispose();
});

test('the run folder: metrics.jsonl per step, loss.png, the reconstruction grid, the last K checkpoints with EMA and state', async (t) => {
  const { r, out } = await run;
  const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as StepMetrics);
  t.deepEqual(
    rows.map((m) => m.step),
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
  t.deepEqual(
    rows.map((m) => m.loss),
    r.losses,
  );
  for (const m of rows) {
    t.is(m.lr, 3e-3);
    t.true(m.gradNorm > 0 && m.samplesPerSec > 0 && m.rss > 1e6);
  }
  const plot = await sharp(join(out, 'loss.png')).metadata();
  t.is(plot.format, 'png');
  t.true(plot.width > 600);
  const grid = await sharp(join(out, 'eval', 'step-000100.png')).metadata();
  t.is(grid.format, 'png');
  t.true(grid.height > 4 * 32 && grid.width > 2 * 32, `${grid.width}x${grid.height}`);
  t.deepEqual(
    listCheckpoints(out).map((c) => c.step),
    [50, 100],
  );
  const state = readState(r.checkpoint!);
  t.is(state.step, 100);
  t.deepEqual(state.data, { epoch: 99, consumed: 4, skipped: 0 });
  t.is(state.settings.lr, 3e-3);
  t.is(state.base.checkpoint, join(base, 'model.safetensors'));
  t.regex(state.base.headerSha256, /^[0-9a-f]{64}$/);
  t.true(existsSync(join(r.checkpoint!, 'ema.safetensors')));
  const eval1 = readFileSync(join(out, 'eval.jsonl'), 'utf8').trim().split('\n');
  t.is(eval1.length, 1);
  // The EMA checkpoint loads as an overlay too.
  const ema = inspectSafetensors(join(r.checkpoint!, 'ema.safetensors')).files[0]!;
  t.is(ema.tensors.length, inspectSafetensors(join(r.checkpoint!, 'trainable.safetensors')).files[0]!.tensors.length);
});

test('a dry run reports counts, memory and the first batch, and trains nothing', async (t) => {
  const out = join(tmp, 'dry');
  const d = await train('stage1', { model: base, out, data: await data(), batch: 2, dryRun: true });
  t.is(d.kind, 'stage1');
  t.log(`trainable ${d.trainableParams}, frozen ${d.frozenParams}`);
  t.true(d.trainableParams > 70_000 && d.frozenParams > d.trainableParams);
  t.is(d.memory.gradients, d.trainableParams * 4);
  t.is(d.memory.optimizer, d.trainableParams * 8);
  t.deepEqual(d.batchShapes.image, [2, 3, 64, 64], "the crop: Florence-2's input side (64) of the tiny model");
  t.is(d.batchShapes.pixelValues![0], 2);
  t.is(d.settings.lr, 5e-5, 'the official stage-1 lr');
  t.deepEqual(d.settings.betas, [0.9, 0.99]);
  t.is(d.settings.schedule, 'cosine');
  t.false(existsSync(join(out, 'checkpoints')));
});

test('abort: the step under way finishes, is saved, and the run resumes from it', async (t) => {
  const out = join(tmp, 'abort');
  const ac = new AbortController();
  const r: TrainResult = await train(
    'stage1',
    { model: base, out, data: await data(), steps: 20, batch: 2, saveEvery: 100, evalEvery: 0 },
    { signal: ac.signal, onProgress: (p) => p.stage === 'train' && p.done === 3 && ac.abort() },
  );
  t.is(r.stopped, 'aborted');
  t.is(r.step, 3);
  t.deepEqual(
    listCheckpoints(out).map((c) => c.step),
    [3],
  );
  const again = await train('stage1', { resume: out, data: await data(), steps: 20 }, {});
  t.is(again.step, 20);
  t.is(again.losses.length, 17);
  const e = await t.throwsAsync(train('stage1', { resume: out, data: await data(), lr: 1 }));
  t.regex(e.message, /these options differ: lr/);
});

test('gradient accumulation: accum micro-batches per step, each with its own data and noise; the loss is their mean', async (t) => {
  const out = join(tmp, 'accum');
  const r = await train('stage1', {
    model: base,
    out,
    data: await data(),
    steps: 3,
    batch: 1,
    accum: 2,
    saveEvery: 3,
    evalEvery: 0,
    noDecayNormsAndBiases: true,
  });
  t.is(r.losses.length, 3);
  const state = readState(r.checkpoint!);
  t.deepEqual(state.data, { epoch: 1, consumed: 2, skipped: 0 }, '6 samples of 4 per epoch');
  t.is(state.rng.microBatches, 6);
  t.true(state.settings.noDecayNormsAndBiases);
  const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
  t.is(rows.length, 3);
});
