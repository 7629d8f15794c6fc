// Text-to-image training on the tiny golden diffusers parts (test/helpers/t2i-fixtures.ts) and
// generated (image, caption) pairs read from a JSONL by lib/data's loader (CPU): 80 steps bring
// the loss down, the VAE stays bit-identical, every UNet and text-encoder tensor moves; the
// checkpoint is a pipeline folder that loadPipeline loads and textToImage samples from; caption
// dropout is ~10% and fixed by the seed; only the chosen parts train; an aborted run resumed
// continues bit for bit.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { AutoencoderKL, ClipTextModel, loadPipeline, textToImage, UNet2DConditionModel } from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';
import { captionDropped, dropCaptions, readState, train } from '../../lib/train/index.js';
import { goldenPath } from '../helpers/golden.js';
import { CAPTIONS, makePairs, makePipeline } from '../helpers/t2i-fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'vlv-train-t2i-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));
const model = makePipeline(join(tmp, 'pipe'));
const data = makePairs(join(tmp, 'data'));
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const bytes = (t: Tensor) => Buffer.from(t.toFloat32().buffer);

const run = (async () => {
  const out = join(tmp, 'run');
  const t0 = performance.now();
  const r = await train('t2i', {
    model,
    data: await data,
    out,
    steps: 80,
    batch: 4,
    lr: 1e-3,
    saveEvery: 40,
    evalEvery: 80,
    evalSteps: 3,
    workers: 1,
  });
  return { r, out, seconds: (performance.now() - t0) / 1000 };
})();

test('80 steps: the loss of the last 20 steps is clearly below the first 20', async (t) => {
  const { r, seconds } = await run;
  t.log(`80 t2i steps (batch 4, 16 px) in ${seconds.toFixed(1)} s`);
  t.is(r.stopped, 'done');
  t.is(r.losses.length, 80);
  const first = mean(r.losses.slice(0, 20)),
    last = mean(r.losses.slice(-20));
  t.log(`mean loss: first 20 ${first.toFixed(4)}, last 20 ${last.toFixed(4)}`);
  t.true(last < 0.8 * first);
});

test('the VAE is bit-identical, every UNet and text-encoder tensor changed; the checkpoint is a diffusers pipeline folder', async (t) => {
  const { r, out } = await run;
  const ck = r.checkpoint!;
  for (const f of [
    'model_index.json',
    'unet/config.json',
    'text_encoder/config.json',
    'scheduler/scheduler_config.json',
  ])
    t.true(existsSync(join(ck, f)), f);
  const pairs: [string, string, (dir: string) => Promise<{ parameters(): Record<string, Tensor>; dispose(): void }>][] =
    [
      ['unet', 'unet', (d) => UNet2DConditionModel.load(d)],
      ['clip_text', 'text_encoder', (d) => ClipTextModel.load(d)],
      ['vae', 'vae', (d) => AutoencoderKL.load(d)],
    ];
  for (const [golden, part, load] of pairs) {
    const a = await load(goldenPath(golden));
    const b = await load(join(ck, part));
    const pa = a.parameters(),
      pb = b.parameters();
    t.deepEqual(Object.keys(pb).sort(), Object.keys(pa).sort(), `${part}: the same tensors`);
    let same = 0;
    for (const [n, x] of Object.entries(pa)) if (bytes(x).equals(bytes(pb[n]!))) same++;
    if (part === 'vae') t.is(same, Object.keys(pa).length, 'the frozen VAE is bit-identical');
    else t.is(same, 0, `${part}: every tensor changed`);
    a.dispose();
    b.dispose();
  }
  const state = readState(ck);
  t.deepEqual(state.settings.trainParts, ['unet', 'text_encoder']);
  t.is(state.settings.captionDropout, 0.1);
  t.is(state.settings.schedule, 'constant');
  t.deepEqual(state.weightFiles, {
    'unet.': 'unet/diffusion_pytorch_model.safetensors',
    'text_encoder.': 'text_encoder/model.safetensors',
  });
  const grid = await sharp(join(out, 'eval', 'step-000080.png')).metadata();
  t.is(grid.format, 'png');
  t.true(grid.height >= 4 * 128 && grid.width >= 2 * 128, `${grid.width}x${grid.height}`);
  t.true(existsSync(join(out, 'loss.png')));
});

test('the checkpoint loads through loadPipeline and samples an image', async (t) => {
  const { r } = await run;
  const pipe = await loadPipeline(r.checkpoint!);
  const s = await textToImage({
    unet: pipe.unet,
    vae: pipe.vae,
    scheduler: pipe.scheduler,
    textEncoder: pipe.textEncoder!,
    tokenizer: pipe.tokenizer!,
    prompt: CAPTIONS[0]!,
    steps: 3,
    seed: 1,
  });
  t.deepEqual(s.images.shape, [1, 3, 16, 16]);
  t.true(s.images.toFloat32().every((x) => Number.isFinite(x) && x >= 0 && x <= 1));
  s.images.dispose();
  s.latents.dispose();
  pipe.dispose();
});

test('caption dropout: ~10% of samples, the same for the same seed, others for another', (t) => {
  let dropped = 0;
  const n = 20000;
  for (let k = 0; k < n / 4; k++) for (let i = 0; i < 4; i++) if (captionDropped(1000 + k, i, 0.1)) dropped++;
  const rate = dropped / n;
  t.log(`dropped ${dropped} of ${n} (${(100 * rate).toFixed(2)}%)`);
  t.true(Math.abs(rate - 0.1) < 0.01, `${rate}`); // 4.7 standard errors
  const caps = Array.from({ length: 64 }, (_, i) => `caption ${i}`);
  const a = dropCaptions(caps, 7, 0.1);
  t.deepEqual(dropCaptions(caps, 7, 0.1), a);
  t.notDeepEqual(dropCaptions(caps, 8, 0.1), a);
  t.true(a.some((c) => c === '') && a.some((c) => c !== ''));
  t.deepEqual(dropCaptions(caps, 7, 0), caps);
});

test('trainParts: unet alone (the text encoder copied bit-identical; v_prediction), text_encoder alone (through the frozen UNet); a dry run', async (t) => {
  const vmodel = makePipeline(join(tmp, 'pipe-v'), 'v_prediction');
  const r = await train('t2i', {
    model: vmodel,
    data: await data,
    out: join(tmp, 'unet-only'),
    steps: 3,
    batch: 2,
    trainParts: ['unet'],
    saveEvery: 3,
    evalEvery: 0,
    workers: 1,
  });
  t.true(r.losses.every((x) => Number.isFinite(x)));
  const state = readState(r.checkpoint!);
  t.deepEqual(state.weightFiles, { 'unet.': 'unet/diffusion_pytorch_model.safetensors' });
  t.deepEqual(
    state.params.filter((n) => !n.startsWith('unet.')),
    [],
  );
  t.true(
    readFileSync(join(r.checkpoint!, 'text_encoder', 'model.safetensors')).equals(
      readFileSync(goldenPath('clip_text', 'model.safetensors')),
    ),
  );
  // The text encoder alone learns through the frozen UNet; the UNet is copied unchanged.
  const te = await train('t2i', {
    model,
    data: await data,
    out: join(tmp, 'te-only'),
    steps: 2,
    batch: 2,
    trainParts: ['text_encoder'],
    saveEvery: 2,
    evalEvery: 0,
    workers: 1,
  });
  t.deepEqual(readState(te.checkpoint!).weightFiles, { 'text_encoder.': 'text_encoder/model.safetensors' });
  t.true(
    readFileSync(join(te.checkpoint!, 'unet', 'diffusion_pytorch_model.safetensors')).equals(
      readFileSync(goldenPath('unet', 'diffusion_pytorch_model.safetensors')),
    ),
  );
  t.false(
    readFileSync(join(te.checkpoint!, 'text_encoder', 'model.safetensors')).equals(
      readFileSync(goldenPath('clip_text', 'model.safetensors')),
    ),
  );
  const dry = await train('t2i', { model: vmodel, data: await data, out: join(tmp, 'dry'), batch: 2, dryRun: true });
  t.deepEqual(dry.batchShapes, { image: [2, 3, 16, 16], inputIds: [2, 77], latents: [2, 4, 8, 8] });
  t.is(dry.settings.lr, 1e-4);
  t.true(dry.trainableParams > 0 && dry.frozenParams > 0);
  const e = await t.throwsAsync(train('t2i', { model: vmodel, data: await data, out: join(tmp, 'x'), klWeight: 1 }));
  t.regex(e.message, /options of vae training/);
});

test('the model given as parts: the checkpoint gets a model_index.json of its own and loads', async (t) => {
  const parts = [
    `unet=${goldenPath('unet')}`,
    `vae=${goldenPath('vae')}`,
    `text_encoder=${goldenPath('clip_text')}`,
    `tokenizer=${join(goldenPath('vlv_stage1'), 'tokenizer')}`,
    `scheduler=${goldenPath('schedulers', 'ddim-epsilon')}`,
  ].join(',');
  const r = await train('t2i', {
    model: parts,
    data: await data,
    out: join(tmp, 'parts'),
    steps: 1,
    batch: 2,
    saveEvery: 1,
    evalEvery: 0,
    workers: 1,
  });
  const index = JSON.parse(readFileSync(join(r.checkpoint!, 'model_index.json'), 'utf8')) as Record<string, unknown>;
  t.deepEqual(index.scheduler, ['diffusers', 'DDIMScheduler']);
  t.deepEqual(index.text_encoder, ['transformers', 'CLIPTextModel']);
  const pipe = await loadPipeline(r.checkpoint!);
  t.truthy(pipe.textEncoder && pipe.tokenizer);
  pipe.dispose();
  const e = await t.throwsAsync(
    train('t2i', { model: `unet=${goldenPath('unet')}`, data: await data, out: join(tmp, 'y'), dryRun: true }),
  );
  t.regex(e.message, /lacks vae, text_encoder, tokenizer, scheduler/);
});

test('abort and resume: the losses continue bit for bit', async (t) => {
  // keep 1: the checkpoint the run resumed from is rotated away while the run still copies parts.
  const opts = { model, steps: 8, batch: 2, lr: 1e-3, saveEvery: 2, keep: 1, evalEvery: 0, workers: 1, ema: 0.9 };
  const straight = await train('t2i', { ...opts, data: await data, out: join(tmp, 'straight') });
  const ac = new AbortController();
  const out = join(tmp, 'aborted');
  const first = await train(
    't2i',
    { ...opts, data: await data, out },
    { signal: ac.signal, onProgress: (p) => p.stage === 'train' && p.done === 3 && ac.abort() },
  );
  t.is(first.stopped, 'aborted');
  t.is(first.step, 3);
  const rest = await train('t2i', { resume: out, data: await data, steps: 8, saveEvery: 2, keep: 1 });
  t.is(rest.step, 8);
  t.deepEqual([...first.losses, ...rest.losses], straight.losses);
  const a = await ClipTextModel.load(join(straight.checkpoint!, 'text_encoder'));
  const b = await ClipTextModel.load(join(rest.checkpoint!, 'text_encoder'));
  const pa = a.parameters(),
    pb = b.parameters();
  for (const n of Object.keys(pa)) t.true(bytes(pa[n]!).equals(bytes(pb[n]!)), n);
  // With EMA, ema/ is the pipeline of the averaged weights.
  const ema = await loadPipeline(join(rest.checkpoint!, 'ema'));
  const pe = ema.textEncoder!.parameters();
  t.false(
    Object.keys(pe).every((n) => bytes(pe[n]!).equals(bytes(pb[n]!))),
    'the averages differ from the weights',
  );
  ema.dispose();
  a.dispose();
  b.dispose();
});
