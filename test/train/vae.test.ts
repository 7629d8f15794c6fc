// VAE training on the golden tiny AutoencoderKL and generated images read from a JSONL by
// lib/data's loader (CPU): gradients reach every VAE parameter through encode and decode; 80
// steps bring the reconstruction loss down and move every tensor; the checkpoint is a VAE folder
// that AutoencoderKL.load loads; the KL term is diffusers' (checked in closed form); an aborted
// run resumed continues bit for bit.
import test from 'ava';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { AutoencoderKL, backward, Tensor } from '../../lib/index.js';
import { mseLoss, randn } from '../../lib/ops.js';
import { klLoss, readState, train } from '../../lib/train/index.js';
import { goldenPath } from '../helpers/golden.js';
import { makePairs } from '../helpers/t2i-fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'vlv-train-vae-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));
const model = goldenPath('vae');
const data = makePairs(join(tmp, 'data'));
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const bytes = (t: Tensor) => Buffer.from(t.toFloat32().buffer);

const run = (async () => {
  const out = join(tmp, 'run');
  const t0 = performance.now();
  const r = await train('vae', {
    model,
    data: await data,
    out,
    steps: 80,
    batch: 4,
    lr: 1e-3,
    saveEvery: 40,
    evalEvery: 80,
    workers: 1,
  });
  return { r, out, seconds: (performance.now() - t0) / 1000 };
})();

test('gradients reach every VAE parameter through encode (posterior sample) and decode', async (t) => {
  const vae = await AutoencoderKL.load(model);
  const params = vae.parameters();
  for (const p of Object.values(params)) p.requiresGrad = true;
  const x = await randn([2, 3, 16, 16], 1);
  const noise = await randn([2, 4, 8, 8], 2);
  const enc = await vae.encode({ sample: x, noise });
  const dec = await vae.decode({ latent: enc.latentSample! });
  const loss = await mseLoss(dec.sample, x);
  await backward(loss);
  const missing = Object.entries(params)
    .filter(([, p]) => !p.grad)
    .map(([n]) => n);
  t.deepEqual(missing, []);
  t.true(Object.keys(params).length > 100);
  vae.dispose();
});

test('80 steps: the loss of the last 20 steps is clearly below the first 20; every tensor changed', async (t) => {
  const { r, seconds } = await run;
  t.log(`80 vae steps (batch 4, 16 px) in ${seconds.toFixed(1)} s`);
  const first = mean(r.losses.slice(0, 20)),
    last = mean(r.losses.slice(-20));
  t.log(`mean loss: first 20 ${first.toFixed(4)}, last 20 ${last.toFixed(4)}`);
  t.true(last < 0.5 * first);
  const a = await AutoencoderKL.load(model);
  const b = await AutoencoderKL.load(r.checkpoint!);
  const pa = a.parameters(),
    pb = b.parameters();
  t.deepEqual(Object.keys(pb).sort(), Object.keys(pa).sort());
  for (const [n, x] of Object.entries(pa)) t.false(bytes(x).equals(bytes(pb[n]!)), `${n} changed`);
  a.dispose();
  b.dispose();
});

test('the checkpoint is a VAE folder that decodes; the run folder has its grid and plot', async (t) => {
  const { r, out } = await run;
  t.true(existsSync(join(r.checkpoint!, 'config.json')));
  t.true(existsSync(join(r.checkpoint!, 'diffusion_pytorch_model.safetensors')));
  const vae = await AutoencoderKL.load(r.checkpoint!);
  const z = await randn([1, 4, 8, 8], 3);
  const img = (await vae.decode({ latent: z })).sample;
  t.deepEqual(img.shape, [1, 3, 16, 16]);
  t.true(img.toFloat32().every(Number.isFinite));
  vae.dispose();
  const state = readState(r.checkpoint!);
  t.is(state.settings.klWeight, 1e-6);
  t.is(state.settings.vaeLoss, 'mse');
  t.deepEqual(state.weightFiles, { '': 'diffusion_pytorch_model.safetensors' });
  const grid = await sharp(join(out, 'eval', 'step-000080.png')).metadata();
  t.true(grid.height >= 4 * 128 && grid.width >= 2 * 128);
  t.true(existsSync(join(out, 'loss.png')));
});

test("the KL term is diffusers' 0.5 * sum(mean^2 + var - 1 - logvar), averaged over the batch", async (t) => {
  const m = [0.5, -1, 0, 2, 0.1, 0.3, -0.2, 1];
  const lv = [0, 0.5, -1, 0.2, -0.3, 1, 0, -2];
  const { kl, temps } = await klLoss(Tensor.from(m, [2, 4]), Tensor.from(lv, [2, 4]));
  let want = 0;
  for (let i = 0; i < 8; i++) want += 0.5 * (m[i]! ** 2 + Math.exp(lv[i]!) - 1 - lv[i]!);
  t.true(Math.abs(kl.toFloat32()[0]! - want / 2) < 1e-5);
  for (const x of [kl, ...temps]) x.dispose();
});

test('l1 without KL, and abort + resume continuing bit for bit', async (t) => {
  const opts = {
    model,
    steps: 8,
    batch: 2,
    lr: 1e-3,
    saveEvery: 2,
    keep: 1,
    evalEvery: 0,
    workers: 1,
    vaeLoss: 'l1' as const,
  };
  const straight = await train('vae', { ...opts, klWeight: 0, data: await data, out: join(tmp, 'straight') });
  t.true(straight.losses.every((x) => x > 0 && x < 2));
  const ac = new AbortController();
  const out = join(tmp, 'aborted');
  const first = await train(
    'vae',
    { ...opts, klWeight: 0, data: await data, out },
    { signal: ac.signal, onProgress: (p) => p.stage === 'train' && p.done === 5 && ac.abort() },
  );
  t.is(first.step, 5);
  const rest = await train('vae', { resume: out, data: await data, saveEvery: 2, keep: 1 });
  t.deepEqual([...first.losses, ...rest.losses], straight.losses);
  const a = await AutoencoderKL.load(straight.checkpoint!);
  const b = await AutoencoderKL.load(rest.checkpoint!);
  const pa = a.parameters(),
    pb = b.parameters();
  for (const n of Object.keys(pa)) t.true(bytes(pa[n]!).equals(bytes(pb[n]!)), n);
  a.dispose();
  b.dispose();
});
