// Guided sampling, the pipeline loaders, random weights and image I/O on the golden tiny
// UNet / VAE / schedulers / CLIP text encoder (../shared/golden; they must exist: fail, never skip).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  AutoencoderKL,
  DiffusionPipeline,
  imageToTensor,
  loadPipeline,
  Model,
  sample,
  Scheduler,
  tensorToJpeg,
  tensorToPng,
  Tensor,
  textToImage,
  ops,
  UNet2DConditionModel,
  VlvError,
} from '../../lib/index.js';
import { goldenPath } from '../helpers/golden.js';

const root = join(import.meta.dirname, '..', '..');
const golden = goldenPath();
const g = (...p: string[]) => join(golden, ...p);

test.before(() => {
  if (!existsSync(g('unet', 'config.json'))) throw new Error(`golden folder missing: ${golden}`);
});

/** Deterministic context values (no RNG needed). */
function context(batch: number, len: number, dim: number, phase = 0): Tensor {
  return Tensor.from(
    Float32Array.from({ length: batch * len * dim }, (_, i) => Math.sin(0.37 * i + phase)),
    [batch, len, dim],
  );
}

async function tiny(schedulerFolder = 'ddim-epsilon') {
  const [unet, vae, scheduler] = await Promise.all([
    UNet2DConditionModel.load(g('unet')),
    AutoencoderKL.load(g('vae')),
    Scheduler.load(g('schedulers', schedulerFolder)),
  ]);
  return { unet, vae, scheduler };
}

const bits = (t: Tensor) => Buffer.from((t.toArray() as Float32Array).buffer).toString('base64');

test('a 20-step guided sample gives RGB images in [0, 1] that round-trip through PNG and JPEG', async (t) => {
  const m = await tiny();
  const progress: number[] = [];
  const r = await sample({
    ...m,
    context: context(2, 7, 64),
    uncondContext: Tensor.zeros([1, 7, 64]),
    guidanceScale: 7.5,
    steps: 20,
    seed: 1,
    onProgress: (p) => {
      t.is(p.stage, 'denoise');
      t.is(p.total, 20);
      progress.push(p.done);
    },
  });
  t.deepEqual(
    progress,
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  t.deepEqual(r.images.shape, [2, 3, 16, 16]); // 8x8 latents, VAE factor 2
  t.deepEqual(r.latents.shape, [2, 4, 8, 8]);
  const px = r.images.toArray() as Float32Array;
  t.true(px.every((v) => v >= 0 && v <= 1));
  t.true(Math.max(...px) - Math.min(...px) > 0.05, 'not a flat image');

  const dir = mkdtempSync(join(tmpdir(), 'vlv-sample-'));
  const file = join(dir, 'out.png');
  writeFileSync(file, await tensorToPng(r.images, 1));
  const meta = await sharp(file).metadata();
  t.is(meta.format, 'png');
  t.is(meta.width, 16);
  t.is(meta.height, 16);
  const back = await imageToTensor(file);
  t.deepEqual(back.shape, [1, 3, 16, 16]);
  const want = px.subarray(3 * 256, 6 * 256);
  const got = back.toArray() as Float32Array;
  t.true(
    got.every((v, i) => Math.abs(v - want[i]!) <= 0.5 / 255 + 1e-6),
    'PNG keeps 8-bit values exactly',
  );
  const jpeg = await sharp(await tensorToJpeg(r.images, 0, 95)).metadata();
  t.is(jpeg.format, 'jpeg');
  t.is(jpeg.width, 16);
});

test('every progress event has arrived when the call settles (the end marker orders them)', async (t) => {
  const m = await tiny();
  for (let r = 0; r < 25; r++) {
    const seen: number[] = [];
    const res = await sample({
      ...m,
      context: context(1, 5, 64),
      steps: 3,
      seed: r,
      onProgress: (p) => seen.push(p.done),
    });
    t.deepEqual(seen, [1, 2, 3], `run ${r}`);
    res.images.dispose();
    res.latents.dispose();
  }
  // A call failing in the engine settles too (the marker is queued while the error unwinds).
  const seen: number[] = [];
  const e = await t.throwsAsync(m.unet.run('no_such_method', {}, {}, { onProgress: (p) => seen.push(p.done) }), {
    instanceOf: VlvError,
  });
  t.is(e?.code, 'E_ARG');
  t.deepEqual(seen, []);
});

test('same seed gives the same bits; another seed or another context differs', async (t) => {
  const m = await tiny('euler-epsilon');
  const run = (seed: number, phase = 0) =>
    sample({ ...m, context: context(1, 5, 64, phase), uncondContext: Tensor.zeros([1, 5, 64]), steps: 20, seed });
  const a = await run(3);
  const b = await run(3);
  const c = await run(4);
  const d = await run(3, 1);
  t.is(bits(a.images), bits(b.images));
  t.is(bits(a.latents), bits(b.latents));
  // CUDA graphs only apply on CUDA: on the CPU every step is eager, with or without them.
  t.is(a.graphReplays, 0);
  t.is(a.graphNote, '');
  const noGraphs = await sample({
    ...m,
    context: context(1, 5, 64),
    uncondContext: Tensor.zeros([1, 5, 64]),
    steps: 20,
    seed: 3,
    cudaGraphs: false,
  });
  t.is(bits(noGraphs.latents), bits(a.latents));
  t.not(bits(a.latents), bits(c.latents));
  t.not(bits(a.latents), bits(d.latents));
});

/** relative L2 distance */
function rel(a: Tensor, b: Tensor): number {
  const x = a.toArray() as Float32Array;
  const y = b.toArray() as Float32Array;
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num += (x[i]! - y[i]!) ** 2;
    den += y[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

test("the engine's loop is diffusers' recipe: the same as composing the models' own methods step by step", async (t) => {
  for (const s of ['euler-v_prediction', 'dpmpp2m-epsilon']) {
    const m = await tiny(s);
    const [ctx, unc, g, steps, seed] = [context(2, 4, 64), context(1, 4, 64, 2), 4.5, 6, 11];
    const got = await sample({ ...m, context: ctx, uncondContext: unc, guidanceScale: g, steps, seed });

    const sch = m.scheduler;
    const st = await sch.setTimesteps(steps);
    const ts = Array.from(st.timesteps.toArray() as ArrayLike<number | bigint>, Number);
    const sigma = (st.initNoiseSigma.toArray() as Float32Array)[0]!;
    let lat = await ops.scale(await ops.randn([2, 4, 8, 8], seed), sigma);
    const both = await ops.concat([unc, unc, ctx], 0); // [uncond; cond], uncond repeated to the batch
    for (const t0 of ts) {
      const x = await sch.scaleModelInput(await ops.concat([lat, lat], 0), t0);
      const eps = (await m.unet.forward({ sample: x, timestep: t0, encoderHiddenStates: both })).sample;
      const [u, c] = await ops.split(eps, 0, [2, 2]);
      const guided = await ops.add(u!, await ops.scale(await ops.sub(c!, u!), g));
      lat = (await sch.step({ sample: lat, modelOutput: guided }, { timestep: t0 })).prevSample;
    }
    const dec = (await m.vae.decode({ latent: await ops.scale(lat, 1 / m.vae.config.scaling_factor) })).sample;
    const want = Tensor.from(
      Float32Array.from(dec.toArray() as Float32Array, (v) => Math.min(1, Math.max(0, v / 2 + 0.5))),
      dec.shape,
    );
    t.true(rel(got.latents, lat) < 1e-5, `${s} latents rel ${rel(got.latents, lat)}`);
    t.true(rel(got.images, want) < 1e-5, `${s} images rel ${rel(got.images, want)}`);
  }
});

test('concurrent samples sharing one scheduler run one after another and give the solo results', async (t) => {
  const m = await tiny('dpmpp2m-epsilon');
  const req = (seed: number) =>
    sample({ ...m, context: context(1, 4, 64), uncondContext: Tensor.zeros([1, 4, 64]), steps: 6, seed });
  const solo = [await req(1), await req(2)];
  const both = await Promise.all([req(1), req(2)]);
  t.is(bits(both[0].latents), bits(solo[0]!.latents));
  t.is(bits(both[1].latents), bits(solo[1]!.latents));
});

test('every scheduler class samples, including the stochastic DDPM step (seeded)', async (t) => {
  for (const s of ['ddpm-epsilon', 'ddim-v_prediction', 'euler-v_prediction', 'dpmpp2m-epsilon']) {
    const m = await tiny(s);
    const run = () =>
      sample({ ...m, context: context(1, 4, 64), uncondContext: Tensor.zeros([1, 4, 64]), steps: 8, seed: 9 });
    const a = await run();
    const b = await run();
    t.deepEqual(a.images.shape, [1, 3, 16, 16], s);
    t.is(bits(a.images), bits(b.images), s);
    t.true((a.latents.toArray() as Float32Array).every(Number.isFinite), s);
  }
});

test('guidance scale 1 is the unguided sample; a larger scale changes it', async (t) => {
  const m = await tiny();
  const ctx = context(1, 4, 64);
  const a = await sample({
    ...m,
    context: ctx,
    uncondContext: Tensor.zeros([1, 4, 64]),
    guidanceScale: 1,
    steps: 5,
    seed: 2,
  });
  const b = await sample({ ...m, context: ctx, steps: 5, seed: 2 });
  const c = await sample({
    ...m,
    context: ctx,
    uncondContext: Tensor.zeros([1, 4, 64]),
    guidanceScale: 5,
    steps: 5,
    seed: 2,
  });
  t.is(bits(a.latents), bits(b.latents));
  t.not(bits(a.latents), bits(c.latents));
});

// Serial: ava runs serial tests before the concurrent ones, so no other sample of this file
// shares the worker threads or delays this one's progress events.
test.serial('an aborted sample rejects with E_ABORTED within one step', async (t) => {
  const m = await tiny();
  const ac = new AbortController();
  let events = 0;
  const e = await t.throwsAsync(
    sample({
      ...m,
      context: context(1, 7, 64),
      uncondContext: Tensor.zeros([1, 7, 64]),
      steps: 20,
      signal: ac.signal,
      onProgress: (p) => {
        events++;
        if (p.done === 3) ac.abort();
      },
    }),
  );
  t.true(e instanceof VlvError);
  t.is((e as VlvError).code, 'E_ABORTED');
  // Every event the engine sent arrives before the call settles. After the abort() at event 3:
  // at most one event already on its way to the JS thread, and at most one step that was
  // finishing when the cancel flag was set (the engine checks it before every op).
  t.true(events >= 3 && events <= 5, `progress events after the abort: ${events - 3}`);
  await t.throwsAsync(sample({ ...m, context: context(1, 7, 64), signal: AbortSignal.abort() }), {
    code: 'E_ABORTED',
  } as never);
});

test('an unconditional context of another length than the condition (VLV: 77 tokens against N queries) samples through two UNet calls per step', async (t) => {
  const m = await tiny();
  const ctx = context(1, 4, 64);
  const run = (uncond: Tensor) => sample({ ...m, context: ctx, uncondContext: uncond, steps: 2, seed: 3 });
  const a = await run(context(1, 6, 64));
  const again = await run(context(1, 6, 64));
  t.deepEqual(a.images.shape, [1, 3, 16, 16]);
  t.deepEqual(a.images.toFloat32(), again.images.toFloat32());
  const other = await run(context(1, 5, 64));
  t.notDeepEqual(a.images.toFloat32(), other.images.toFloat32());
});

test('bad requests are typed errors naming the problem', async (t) => {
  const m = await tiny();
  const ctx = context(1, 4, 64);
  const err = async (p: Promise<unknown>, code: string, re: RegExp) => {
    const e = await t.throwsAsync<VlvError>(p);
    t.is(e.code, code as never);
    t.regex(e.message, re);
  };
  await err(sample({ ...m, context: context(1, 4, 32) }), 'E_SHAPE', /cross_attention_dim/);
  await err(sample({ ...m, context: ctx, height: 15 }), 'E_ARG', /multiple of the VAE's downsampling factor 2/);
  await err(sample({ ...m, context: ctx, steps: 0 }), 'E_ARG', /steps must be a positive integer/);
  await err(sample({ ...m, context: ctx, seed: -1 }), 'E_ARG', /seed/);
  await err(sample({ ...m, context: ctx, uncondContext: Tensor.zeros([3, 4, 64]) }), 'E_SHAPE', /uncondContext batch/);
  await err(
    sample({ ...m, context: ctx, uncondContext: Tensor.zeros([1, 5, 32]) }),
    'E_SHAPE',
    /uncondContext must be/,
  );
  const disposed = await UNet2DConditionModel.load(g('unet'));
  await disposed[Symbol.asyncDispose]();
  await err(sample({ ...m, unet: disposed, context: ctx }), 'E_DISPOSED', /disposed/);
});

test('Model.random builds any kind from its config alone: seeded, frozen, the documented init', async (t) => {
  const a = await Model.random('unet', g('unet'), 7);
  const b = await Model.random('unet', g('unet', 'config.json'), 7);
  const c = await Model.random('unet', g('unet'), 8);
  const loaded = await Model.load('unet', g('unet'));
  const pa = a.parameters();
  const pl = loaded.parameters();
  t.deepEqual(Object.keys(pa).sort(), Object.keys(pl).sort());
  for (const [k, v] of Object.entries(pl)) t.deepEqual(pa[k]!.shape, v.shape, k);
  t.is(bits(pa['conv_in.weight']!), bits(b.parameters()['conv_in.weight']!));
  t.not(bits(pa['conv_in.weight']!), bits(c.parameters()['conv_in.weight']!));
  t.false(pa['conv_in.weight']!.requiresGrad);
  t.true((pa['conv_norm_out.weight']!.toArray() as Float32Array).every((v) => v === 1));
  t.true((pa['conv_in.bias']!.toArray() as Float32Array).every((v) => v === 0));
  const w = pa['down_blocks.0.attentions.0.proj_in.weight']!; // [16, 16]: N(0, 1/16)
  const x = w.toArray() as Float32Array;
  const sd = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
  t.true(sd > 0.15 && sd < 0.35, `sd ${sd}`);
  // Other kinds, and a UNet that samples.
  for (const [kind, folder] of [
    ['vae', 'vae'],
    ['clip_text', 'clip_text'],
    ['scheduler', 'schedulers/ddim-epsilon'],
  ] as const)
    t.is((await Model.random(kind, g(folder), 1)).kind, kind);
  // A config that leaves per-block fields to diffusers' defaults (as SD 2.1's hub config does
  // with transformer_layers_per_block) builds.
  const toy = await Model.random('unet', join(root, 'bench', 'configs', 'tiny-unet.json'), 1);
  t.truthy(toy.parameters()['down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight']);
  const unet = await UNet2DConditionModel.random(g('unet'), 3);
  t.is(unet.config.block_out_channels.length, 3);
  const r = await sample({ ...(await tiny()), unet, context: context(1, 4, 64), steps: 3 });
  t.deepEqual(r.images.shape, [1, 3, 16, 16]);
  const e = await t.throwsAsync<VlvError>(Model.random('unet', join(root, 'no-such-config.json'), 1));
  t.is(e.code, 'E_FILE');
  await t.throwsAsync(Model.random('unet', g('unet'), -1), { code: 'E_ARG' } as never);
});

// A CLIP-shaped vocabulary (every byte char, + '</w>', a few merges, the two specials): < 1000 ids.
function clipTokenizerFiles(dir: string) {
  const bytes: string[] = [];
  for (let b = 0, n = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    bytes.push(String.fromCodePoint(printable ? b : 256 + n++));
  }
  const merges = [
    ['a', 't'],
    ['c', 'at</w>'],
  ];
  const vocab: Record<string, number> = {};
  for (const c of bytes) vocab[c] = Object.keys(vocab).length;
  for (const c of bytes) vocab[c + '</w>'] = Object.keys(vocab).length;
  for (const [a, b] of merges) vocab[a! + b!] = Object.keys(vocab).length;
  vocab['<|startoftext|>'] = Object.keys(vocab).length;
  vocab['<|endoftext|>'] = Object.keys(vocab).length;
  mkdirSync(dir);
  writeFileSync(join(dir, 'vocab.json'), JSON.stringify(vocab));
  writeFileSync(join(dir, 'merges.txt'), '#version: 0.2\n' + merges.map((m) => m.join(' ')).join('\n') + '\n');
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ tokenizer_class: 'CLIPTokenizer', model_max_length: 77 }),
  );
}

function pipelineFolder(index: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'vlv-pipe-'));
  symlinkSync(g('unet'), join(dir, 'unet'));
  symlinkSync(g('vae'), join(dir, 'vae'));
  symlinkSync(g('schedulers', 'ddim-epsilon'), join(dir, 'scheduler'));
  symlinkSync(g('clip_text'), join(dir, 'text_encoder'));
  clipTokenizerFiles(join(dir, 'tokenizer'));
  writeFileSync(join(dir, 'model_index.json'), JSON.stringify(index));
  return dir;
}

const SD_INDEX = {
  _class_name: 'StableDiffusionPipeline',
  _diffusers_version: '0.33.1',
  feature_extractor: [null, null],
  requires_safety_checker: false,
  safety_checker: [null, null],
  scheduler: ['diffusers', 'DDIMScheduler'],
  text_encoder: ['transformers', 'CLIPTextModel'],
  tokenizer: ['transformers', 'CLIPTokenizer'],
  unet: ['diffusers', 'UNet2DConditionModel'],
  vae: ['diffusers', 'AutoencoderKL'],
};

test('a diffusers pipeline folder loads from model_index.json and does text-to-image', async (t) => {
  const pipe = await DiffusionPipeline.load(pipelineFolder(SD_INDEX));
  t.is(pipe.unet.config.in_channels, 4);
  t.is(pipe.vae.config.scaling_factor, 0.18215);
  t.is(pipe.scheduler.config._class_name, 'DDIMScheduler');
  t.is(pipe.textEncoder!.config.hidden_size, 64);
  const opts = { ...pipe, textEncoder: pipe.textEncoder!, tokenizer: pipe.tokenizer!, steps: 4, seed: 5 };
  const a = await textToImage({ ...opts, prompt: 'a cat' });
  const b = await textToImage({ ...opts, prompt: ['a cat'] });
  const c = await textToImage({ ...opts, prompt: 'the cat', contextLayer: 'penultimate' });
  const d = await textToImage({ ...opts, prompt: 'a cat', negativePrompt: 'blurry' });
  t.deepEqual(a.images.shape, [1, 3, 16, 16]);
  t.is(bits(a.images), bits(b.images));
  t.not(bits(a.latents), bits(c.latents));
  t.not(bits(a.latents), bits(d.latents));
  pipe.dispose();
});

test('pipeline folders: unsupported or missing components are refused by name', async (t) => {
  const bad = async (index: Record<string, unknown>, code: string, re: RegExp) => {
    const e = await t.throwsAsync<VlvError>(loadPipeline(pipelineFolder(index)));
    t.is(e.code, code as never);
    t.regex(e.message, re);
  };
  await bad(
    { ...SD_INDEX, safety_checker: ['stable_diffusion', 'StableDiffusionSafetyChecker'] },
    'E_ARG',
    /"safety_checker" is not supported/,
  );
  await bad({ ...SD_INDEX, scheduler: ['diffusers', 'PNDMScheduler'] }, 'E_ARG', /PNDMScheduler is not supported/);
  await bad({ ...SD_INDEX, vae: [null, null] }, 'E_FILE_FORMAT', /no "vae"/);
  await bad({ ...SD_INDEX, tokenizer: [null, null] }, 'E_FILE_FORMAT', /text_encoder and tokenizer/);
  const e = await t.throwsAsync<VlvError>(loadPipeline(join(root, 'no-such-folder')));
  t.is(e.code, 'E_FILE');
});

test('vlv sample writes a PNG of the requested size', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlv-cli-'));
  const out = join(dir, 'x.png');
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'lib', 'cli-main.ts'),
      'sample',
      '--unet',
      g('unet'),
      '--vae',
      g('vae'),
      '--scheduler',
      g('schedulers', 'ddim-epsilon'),
      '--steps',
      '20',
      '--guidance',
      '7.5',
      '--seed',
      '1',
      '--height',
      '32',
      '--width',
      '24',
      '--out',
      out,
    ],
    { cwd: root, encoding: 'utf8' },
  );
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /x\.png: 24x32/);
  t.is(readFileSync(out).subarray(1, 4).toString(), 'PNG');
  const bad = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(root, 'lib', 'cli-main.ts'), 'sample', '--unet', g('unet')],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  t.is(bad.status, 2);
  t.regex(bad.stderr, /missing --vae/);
});
