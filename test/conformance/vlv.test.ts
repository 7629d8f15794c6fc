// The VLV auto-encoder (the engine's 'vlv' kind): both golden folders of the official code
// through the project's loader and conformance runner, and what the golden cases do not show
// (parts loaded per use, other query counts, the official trainable set, strict checkpoints).
import test from 'ava';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  backward,
  info,
  loadSafetensors,
  saveSafetensors,
  Scheduler,
  Tensor,
  type VlvError,
  VlvModel,
} from '../../lib/index.js';
import { runConformance } from '../../lib/testing.js';
import { goldenPath } from '../helpers/golden.js';

const stage1 = goldenPath('vlv_stage1');
const caption = goldenPath('vlv_caption');

for (const [label, folder, count] of [
  ['vlv_stage1', stage1, 5],
  ['vlv_caption', caption, 4],
] as const) {
  test(`${label}: every case of the official code passes`, async (t) => {
    const results = await runConformance(folder);
    t.is(results.length, count);
    for (const r of results) t.true(r.pass, `${r.case}: rel ${r.rel} tol ${r.tol} ${r.error ?? ''}`);
  });
}

/** The golden stage-1 case inputs. */
async function stage1Inputs() {
  const { tensors } = await loadSafetensors(join(stage1, 'cases.safetensors'));
  return tensors;
}

test('each use loads only its parts: captioning never builds the UNet or the VAE, reconstruction never the language model', async (t) => {
  const embed = await VlvModel.load(stage1, { use: 'embed' });
  t.deepEqual([...embed.loadedParts].sort(), ['florence2', 'text_encoder']);
  const names = Object.keys(embed.parameters());
  t.false(names.some((n) => n.startsWith('unet.') || n.startsWith('vae.')));
  t.true(names.includes('query_embed') && names.includes('language_proj.0.weight'));
  const err = await t.throwsAsync<VlvError>(embed.reconstruct({ z: Tensor.zeros([1, 5, 48]) }, { steps: 1 }));
  t.is(err.code, 'E_ARG');
  t.regex(err.message, /without its unet part/);
  embed.dispose();
  const missing = await t.throwsAsync<VlvError>(VlvModel.load(stage1, { use: 'caption' }));
  t.is(missing.code, 'E_FILE');
  t.regex(missing.message, /language_model/);
});

test('any query count: queries given in place of query_embed, and a reconstruction whose condition is shorter than the 77-token empty prompt', async (t) => {
  const model = await VlvModel.load(stage1);
  const x = await stage1Inputs();
  const queries = Tensor.from(
    Float32Array.from({ length: 3 * 32 }, (_, i) => Math.sin(i * 0.61)),
    [1, 3, 32],
  );
  const { z, c } = await model.encode({
    pixelValues: x['preprocess.out.pixel_values'],
    inputIds: x['preprocess.out.input_ids'],
    queryEmbed: queries,
  });
  t.deepEqual(z.shape, [2, 3, 48]);
  t.deepEqual(c.shape, [2, 3, 48]);
  const opts = { steps: 3, guidance: 2, seed: 5, height: 16, width: 16 };
  const uncondInputIds = x['reconstruct.in.uncond_input_ids'];
  const a = await model.reconstruct({ z, uncondInputIds }, opts);
  t.deepEqual(a.image.shape, [2, 3, 16, 16]);
  t.deepEqual(a.cUncond?.shape, [1, 77, 48]);
  const b = await model.reconstruct({ c, uncondInputIds }, opts);
  t.deepEqual(a.image.toFloat32(), b.image.toFloat32());
  const unguided = await model.reconstruct({ c }, { ...opts, guidance: 1 });
  t.notDeepEqual(a.image.toFloat32(), unguided.image.toFloat32());
  const noUncond = await t.throwsAsync<VlvError>(model.reconstruct({ c }, opts));
  t.regex(noUncond.message, /uncond_input_ids/);
  model.dispose();
});

test('stage-1 backward reaches exactly the official trainable set; the draws follow the seed', async (t) => {
  const model = await VlvModel.load(stage1);
  const x = await stage1Inputs();
  const trainable = model.trainableParameters(1);
  for (const p of Object.values(trainable)) p.requiresGrad = true;
  const image = Tensor.from(
    x['preprocess.in.image']!.toFloat32().map((v) => (v / 255) * 2 - 1),
    x['preprocess.in.image']!.shape,
  );
  const inputs = { pixelValues: x['preprocess.out.pixel_values'], inputIds: x['preprocess.out.input_ids'], image };
  const r = await model.stage1Loss(inputs, { seed: 11 });
  await backward(r.loss);
  // Florence-2's lm_head and final_logits_bias are in the set but nothing reads them.
  const unread = ['model.language_model.lm_head.weight', 'model.language_model.final_logits_bias'];
  for (const [name, p] of Object.entries(model.parameters())) {
    if (name in trainable && !unread.includes(name)) t.truthy(p.grad, `${name} has a gradient`);
    else t.is(p.grad, null, `${name} has none`);
  }
  const again = await model.stage1Loss(inputs, { seed: 11 });
  t.deepEqual(again.loss.toFloat32(), r.loss.toFloat32());
  t.deepEqual(again.timesteps.toArray(), r.timesteps.toArray());
  const other = await model.stage1Loss(inputs, { seed: 12 });
  t.notDeepEqual(other.noisyLatents.toFloat32(), r.noisyLatents.toFloat32());
  for (const v of r.timesteps.toArray() as BigInt64Array) t.true(v >= 0n && v < 1000n);
  model.dispose();
});

test('a checkpoint key no part takes is E_FILE_FORMAT naming it; a bad vlv.json is refused by name', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlv-'));
  try {
    for (const part of ['florence2', 'text_encoder', 'unet', 'vae', 'scheduler', 'tokenizer'])
      cpSync(join(stage1, part), join(dir, part), { recursive: true });
    const { tensors } = await loadSafetensors(join(stage1, 'model.safetensors'));
    tensors['language_proj.9.weight'] = Tensor.zeros([2, 2]);
    await saveSafetensors(join(dir, 'model.safetensors'), tensors);
    const e = await t.throwsAsync<VlvError>(VlvModel.load(dir));
    t.is(e.code, 'E_FILE_FORMAT');
    t.regex(e.message, /language_proj\.9\.weight/);
    writeFileSync(
      join(dir, 'vlv.json'),
      JSON.stringify({ format: 'vlv', checkpoint: 'model.safetensors', parts: { nope: 'unet' } }),
    );
    const bad = await t.throwsAsync<VlvError>(VlvModel.load(dir));
    t.is(bad.code, 'E_FILE_FORMAT');
    t.regex(bad.message, /unknown part 'nope'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a vlv.json points at part folders elsewhere; a part the checkpoint lacks loads from its own folder', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlv-'));
  try {
    const { tensors } = await loadSafetensors(join(stage1, 'model.safetensors'));
    const vae: Record<string, Tensor> = {};
    const rest: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(tensors))
      if (k.startsWith('vae.')) vae[k.slice(4)] = v;
      else rest[k] = v;
    await saveSafetensors(join(dir, 'heads.safetensors'), rest);
    cpSync(join(stage1, 'vae'), join(dir, 'vae'), { recursive: true });
    await saveSafetensors(join(dir, 'vae', 'diffusion_pytorch_model.safetensors'), vae);
    const parts = {
      florence2: join(stage1, 'florence2'),
      text_encoder: join(stage1, 'text_encoder'),
      unet: join(stage1, 'unet'),
      vae: 'vae',
      scheduler: join(stage1, 'scheduler'),
    };
    writeFileSync(
      join(dir, 'vlv.json'),
      JSON.stringify({ format: 'vlv', version: 1, checkpoint: 'heads.safetensors', parts }),
    );
    copyFileSync(join(stage1, 'cases.json'), join(dir, 'cases.json'));
    copyFileSync(join(stage1, 'cases.safetensors'), join(dir, 'cases.safetensors'));
    const results = await runConformance(dir);
    for (const r of results) t.true(r.pass, `${r.case}: rel ${r.rel} ${r.error ?? ''}`);
    const model = await VlvModel.load(dir, { use: 'stage1' });
    t.truthy(model.parameters()['vae.decoder.conv_out.weight'], 'the folder part is named as in the checkpoint');
    model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bf16 weight matrices stay within the bf16 bound of the float32 reference', async (t) => {
  const model = await VlvModel.load(stage1, { use: 'embed', dtype: 'bf16' });
  const x = await stage1Inputs();
  const { c } = await model.encode({
    pixelValues: x['preprocess.out.pixel_values'],
    inputIds: x['preprocess.out.input_ids'],
  });
  const ref = x['embed.out.c']!.toFloat32();
  const got = c.toFloat32();
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (got[i]! - ref[i]!) ** 2;
    den += ref[i]! ** 2;
  }
  t.true(Math.sqrt(num / den) < 1e-2, `rel ${Math.sqrt(num / den)}`);
  model.dispose();
});

test('the stage-1 target follows the scheduler config: v_prediction compares the UNet to the velocity', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlv-'));
  try {
    cpSync(stage1, dir, { recursive: true });
    const file = join(dir, 'scheduler', 'scheduler_config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...config, prediction_type: 'v_prediction' }));
    const model = await VlvModel.load(dir, { use: 'stage1' });
    const x = await stage1Inputs();
    const image = Tensor.from(
      x['preprocess.in.image']!.toFloat32().map((v) => (v / 255) * 2 - 1),
      x['preprocess.in.image']!.shape,
    );
    const r = await model.stage1Loss({
      pixelValues: x['preprocess.out.pixel_values'],
      inputIds: x['preprocess.out.input_ids'],
      image,
      posteriorNoise: x['stage1_loss.in.posterior_noise'],
      timesteps: x['stage1_loss.in.timesteps'],
      noise: x['stage1_loss.in.noise'],
    });
    // The same schedule as DDPMScheduler (what SDModel reads the file as).
    const { beta_start, beta_end, beta_schedule, num_train_timesteps } = config;
    mkdirSync(join(dir, 'ddpm'));
    writeFileSync(
      join(dir, 'ddpm', 'scheduler_config.json'),
      JSON.stringify({
        _class_name: 'DDPMScheduler',
        beta_start,
        beta_end,
        beta_schedule,
        num_train_timesteps,
        prediction_type: 'v_prediction',
      }),
    );
    const ddpm = await Scheduler.load(join(dir, 'ddpm'));
    const v = await ddpm.getVelocity({ sample: r.latents, noise: x['stage1_loss.in.noise']!, timesteps: r.timesteps });
    t.deepEqual(r.target.toFloat32(), v.toFloat32());
    t.notDeepEqual(r.target.toFloat32(), x['stage1_loss.in.noise']!.toFloat32());
    model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a vlv.json overlay (a training checkpoint) replaces checkpoint tensors by name; an unknown or reshaped one is refused by name', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlv-'));
  try {
    const queries = Tensor.from(
      Float32Array.from({ length: 5 * 32 }, (_, i) => Math.cos(i)),
      [1, 5, 32],
    );
    const write = async (tensors: Record<string, Tensor>) => {
      await saveSafetensors(join(dir, 'trainable.safetensors'), tensors);
      const parts = Object.fromEntries(['florence2', 'text_encoder'].map((p) => [p, join(stage1, p)]));
      const spec = {
        format: 'vlv',
        version: 1,
        checkpoint: join(stage1, 'model.safetensors'),
        overlay: 'trainable.safetensors',
        parts,
      };
      writeFileSync(join(dir, 'vlv.json'), JSON.stringify(spec));
    };
    await write({ query_embed: queries });
    const model = await VlvModel.load(dir, { use: 'embed' });
    t.deepEqual(model.parameters().query_embed!.toFloat32(), queries.toFloat32());
    model.dispose();
    await write({ 'query_embed.nope': queries });
    const unknown = await t.throwsAsync<VlvError>(VlvModel.load(dir, { use: 'embed' }));
    t.is(unknown.code, 'E_FILE_FORMAT');
    t.regex(unknown.message, /query_embed\.nope/);
    await write({ query_embed: Tensor.zeros([1, 4, 32]) });
    const reshaped = await t.throwsAsync<VlvError>(VlvModel.load(dir, { use: 'embed' }));
    t.regex(reshaped.message, /query_embed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a device per part: the parts named go where asked (without a GPU, cuda is E_DEVICE naming it)', async (t) => {
  const x = await stage1Inputs();
  const model = await VlvModel.load(stage1, { use: 'embed', devices: { florence2: 'cpu', text_encoder: 'cpu' } });
  const { c } = await model.encode({
    pixelValues: x['preprocess.out.pixel_values'],
    inputIds: x['preprocess.out.input_ids'],
  });
  t.deepEqual(c.shape, [2, 5, 48]);
  model.dispose();
  const split = VlvModel.load(stage1, { use: 'embed', devices: { text_encoder: 'cuda' } });
  if (info().device !== 'cuda') {
    const e = await t.throwsAsync<VlvError>(split);
    t.is(e.code, 'E_DEVICE');
    return;
  }
  // With a GPU: Florence-2 on the CPU, CLIP on the GPU, the same c within the GPU bound.
  const gpu = await split;
  const got = (
    await gpu.encode({ pixelValues: x['preprocess.out.pixel_values'], inputIds: x['preprocess.out.input_ids'] })
  ).c;
  const ref = x['embed.out.c']!.toFloat32();
  const v = (await got.to('cpu')).toFloat32();
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (v[i]! - ref[i]!) ** 2;
    den += ref[i]! ** 2;
  }
  t.true(Math.sqrt(num / den) < 1e-2);
  gpu.dispose();
});
