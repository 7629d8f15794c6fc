// `vlv train` as a user runs it (child processes from the TypeScript sources) on the golden tiny
// VLV: the dry run's report, a short run leaving metrics.jsonl, loss.png, the reconstruction
// grid and a checkpoint folder that VlvModel.load loads, Ctrl-C saving and exiting cleanly, a
// resume, stage 2 on a JSONL of pairs and on a WebDataset shard with a corrupt image skipped and
// counted, and usage errors.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { AutoencoderKL, loadPipeline, VlvModel } from '../../lib/index.js';
import { listCheckpoints, readState } from '../../lib/train/index.js';
import { goldenPath } from '../helpers/golden.js';
import { makeImages } from '../helpers/memory-loader.js';
import { makePairs, makePipeline } from '../helpers/t2i-fixtures.js';

const root = join(import.meta.dirname, '..', '..');
const stage1 = goldenPath('vlv_stage1');
const tmp = mkdtempSync(join(tmpdir(), 'vlv-cli-train-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));
const data = join(tmp, 'images');
mkdirSync(data);
const images = makeImages(data, 3);

const cliArgs = (args: string[]) => ['--import', 'tsx', join(root, 'lib', 'cli-main.ts'), ...args];
const env = { ...process.env, VLV_NUM_THREADS: '2' };
function vlv(...args: string[]) {
  const r = spawnSync(process.execPath, cliArgs(args), { cwd: root, encoding: 'utf8', timeout: 300_000, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('vlv train stage1 --dry-run: parameter counts, a memory estimate and the first batch, nothing written', async (t) => {
  await images;
  const out = join(tmp, 'dry');
  const r = vlv('train', 'stage1', '--data', data, '--model', stage1, '--out', out, '--batch', '2', '--dry-run');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /stage1 dry run/);
  t.regex(r.stdout, /trainable parameters +74,148/);
  t.regex(r.stdout, /frozen parameters +362,707/);
  t.regex(r.stdout, /memory estimate +[\d.]+ MiB: weights [\d.]+ MiB \+ gradients [\d.]+ MiB \+ AdamW moments/);
  t.regex(r.stdout, /first batch +pixelValues \[2, 3, 64, 64\], inputIds \[2, \d+\], image \[2, 3, 64, 64\]/);
  t.regex(r.stdout, /AdamW lr 0\.00005 betas \(0\.9, 0\.99\) eps 1e-8 weight decay 0\.01; cosine schedule/);
  t.false(existsSync(join(out, 'checkpoints')));
});

test('vlv train stage1: progress lines, metrics.jsonl, loss.png, the grid, a checkpoint VlvModel.load loads; a resume that changes the steps is refused', async (t) => {
  await images;
  const out = join(tmp, 'run');
  const args = ['--data', data, '--model', stage1, '--out', out, '--batch', '2', '--lr', '1e-3', '--save-every', '3'];
  const r = vlv(
    'train',
    'stage1',
    ...args,
    '--steps',
    '6',
    '--eval-every',
    '6',
    '--eval-steps',
    '2',
    '--log-every',
    '2',
  );
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, /^step 2\/6 {2}loss \d\.\d{4} {2}lr \d\.\d\de-\d {2}[\d.]+ steps\/s {2}ETA \d+s$/m);
  t.regex(r.stderr, /^step 6\/6 /m);
  t.regex(r.stderr, /checkpoint .*step-000006/);
  t.regex(r.stdout, /done: 6 steps; checkpoint .*step-000006; metrics .*metrics\.jsonl; loss plot .*loss\.png/);
  const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
  t.is(rows.length, 6);
  const last = JSON.parse(rows[5]!) as {
    step: number;
    lr: number;
    loss: number;
    gradNorm: number;
    samplesPerSec: number;
    rss: number;
  };
  t.is(last.step, 6);
  t.true(last.lr > 0 && last.lr < 1e-3, 'cosine decay');
  for (const k of ['loss', 'gradNorm', 'samplesPerSec', 'rss'] as const) t.is(typeof last[k], 'number');
  t.is((await sharp(join(out, 'loss.png')).metadata()).format, 'png');
  t.is((await sharp(join(out, 'eval', 'step-000006.png')).metadata()).format, 'png');
  const ckpt = join(out, 'checkpoints', 'step-000006');
  const model = await VlvModel.load(ckpt, { use: 'reconstruct' });
  t.true(model.loadedParts.includes('unet'));
  model.dispose();
  t.deepEqual(
    listCheckpoints(out).map((c) => c.step),
    [3, 6],
  );
  const more = vlv('train', 'stage1', '--resume', out, '--data', data, '--steps', '8');
  t.is(more.status, 2);
  t.regex(more.stderr, /E_ARG: resume continues the run as it was set up; these options differ: steps/);
});

test.serial(
  'Ctrl-C: the current step finishes, a checkpoint is saved, the exit is clean (130); --resume continues',
  async (t) => {
    await images;
    const out = join(tmp, 'sigint');
    const child = spawn(
      process.execPath,
      cliArgs([
        'train',
        'stage1',
        '--data',
        data,
        '--model',
        stage1,
        '--out',
        out,
        '--batch',
        '2',
        '--steps',
        '8',
        '--log-every',
        '1',
      ]),
      { cwd: root, env: { ...env } },
    );
    let stderr = '',
      stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const sent = new Promise<void>((resolve) => {
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (stderr.includes('step 1/8') && !child.killed) {
          child.kill('SIGINT');
          resolve();
        }
      });
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    await sent;
    t.is(code, 130, stderr);
    t.regex(stderr, /SIGINT: finishing the current step, then saving a checkpoint/);
    t.notRegex(stderr, /at .*\.ts:\d+/, 'no stack trace');
    const m = /stopped at step (\d+)\/8/.exec(stdout);
    t.truthy(m, stdout);
    const step = Number(m![1]);
    const [c] = listCheckpoints(out);
    t.is(c?.step, step);
    t.is(readState(c!.dir).step, step);
    t.regex(stdout, /continue with: vlv train stage1 --resume .*step-0+\d+/);
    const again = vlv('train', 'stage1', '--resume', out, '--data', data);
    t.is(again.status, 0, again.stderr);
    t.regex(again.stdout, /done: 8 steps/);
    t.is(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 8);
  },
);

test('vlv train t2i on a JSONL of pairs (a diffusers pipeline, --train, --caption-dropout) and vae (--vae-loss, --kl-weight): checkpoints that load', async (t) => {
  const pairs = await makePairs(join(tmp, 't2i-data'));
  const pipe = makePipeline(join(tmp, 't2i-pipe'));
  const common = ['--data', pairs, '--steps', '2', '--batch', '2', '--eval-every', '0', '--workers', '1'];
  const a = vlv(
    'train',
    't2i',
    ...common,
    '--model',
    pipe,
    '--out',
    join(tmp, 'cli-t2i'),
    '--train',
    'unet',
    '--caption-dropout',
    '0.2',
  );
  t.is(a.status, 0, a.stderr);
  t.regex(a.stdout, /done: 2 steps/);
  const [c] = listCheckpoints(join(tmp, 'cli-t2i'));
  const s = readState(c!.dir).settings;
  t.deepEqual([s.trainParts, s.captionDropout], [['unet'], 0.2]);
  const pipeline = await loadPipeline(c!.dir);
  pipeline.dispose();
  const b = vlv(
    'train',
    'vae',
    ...common,
    '--model',
    join(pipe, 'vae'),
    '--out',
    join(tmp, 'cli-vae'),
    '--vae-loss',
    'l1',
    '--kl-weight',
    '0',
  );
  t.is(b.status, 0, b.stderr);
  const [v] = listCheckpoints(join(tmp, 'cli-vae'));
  t.deepEqual([readState(v!.dir).settings.vaeLoss, readState(v!.dir).settings.klWeight], ['l1', 0]);
  (await AutoencoderKL.load(v!.dir)).dispose();
  t.regex(
    vlv('train', 't2i', ...common, '--model', pipe, '--out', 'x', '--train', 'vae').stderr,
    /--train takes unet, text_encoder/,
  );
});

test('usage errors: no kind, an unknown kind, no data, a bad number', (t) => {
  const a = vlv('train');
  t.is(a.status, 2);
  t.regex(a.stderr, /vlv train: E_ARG: name what to train: stage1 \| stage2/);
  t.regex(vlv('train', 'stage9', '--data', 'x').stderr, /name what to train/);
  t.regex(vlv('train', 'stage1', '--model', stage1, '--out', 'x').stderr, /--data is required/);
  t.regex(vlv('train', 'stage1', '--data', 'x', '--steps', 'ten').stderr, /--steps takes an integer, got 'ten'/);
});

/** A WebDataset shard (key.png + key.txt) written with tar-stream. */
async function writeShard(path: string, entries: { name: string; data: Buffer }[]): Promise<void> {
  const { pack } = await import('tar-stream');
  const { createWriteStream } = await import('node:fs');
  const { pipeline } = await import('node:stream/promises');
  const p = pack();
  const done = pipeline(p, createWriteStream(path));
  for (const e of entries) p.entry({ name: e.name }, e.data);
  p.finalize();
  await done;
}

test('vlv train stage2 on a JSONL of pairs and on a WebDataset shard: a corrupt image is skipped and counted, the run goes on', async (t) => {
  const files = await images;
  const captioner = goldenPath('vlv_caption');
  const caps = ['a red striped square.', 'a blue gradient.', 'green bands.'];
  const bad = join(tmp, 'broken.png'); // not in the stage-1 image folder
  writeFileSync(bad, 'not a PNG at all');
  const jsonl = join(tmp, 'pairs.jsonl');
  writeFileSync(
    jsonl,
    [...files.map((f, i) => ({ image: f, caption: caps[i] })), { image: bad, caption: 'nothing' }]
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
  const shard = join(tmp, 'shard-00000.tar');
  await writeShard(shard, [
    ...files.flatMap((f, i) => [
      { name: `k${i}.png`, data: readFileSync(f) },
      { name: `k${i}.txt`, data: Buffer.from(caps[i]!) },
    ]),
    { name: 'kbad.png', data: Buffer.from('corrupt') },
    { name: 'kbad.txt', data: Buffer.from('nothing') },
  ]);
  for (const [label, source] of [
    ['jsonl', jsonl],
    ['shard', shard],
  ] as const) {
    const out = join(tmp, `s2-${label}`);
    const r = vlv(
      'train',
      'stage2',
      '--data',
      source,
      '--model',
      captioner,
      '--out',
      out,
      '--steps',
      '4',
      '--batch',
      '2',
      '--lr',
      '1e-3',
      '--eval-every',
      '4',
      '--eval-max-new-tokens',
      '4',
      '--max-caption-tokens',
      '32',
      '--log-every',
      '1',
    );
    t.is(r.status, 0, `${label}: ${r.stderr}`);
    t.regex(r.stderr, /skipped .*(broken|kbad).*\(1 unreadable so far\)/, label);
    t.regex(r.stderr, /^step 4\/4 {2}loss /m, label);
    t.regex(r.stderr, /caption of /, label);
    const state = readState(join(out, 'checkpoints', 'step-000004'));
    t.true(state.data.skipped >= 1, `${label}: ${JSON.stringify(state.data)}`);
    const ev = JSON.parse(readFileSync(join(out, 'eval.jsonl'), 'utf8').trim()) as {
      captions: { reference: string }[];
    };
    t.true(
      ev.captions.every((c) => caps.includes(c.reference)),
      label,
    );
  }
});
