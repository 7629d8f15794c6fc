// The golden CLIPTextModel folder through the project's own loader and conformance runner.
import test from 'ava';
import { existsSync } from 'node:fs';
import { runConformance } from '../../lib/testing.js';
import { Model, VlvError } from '../../lib/index.js';
import { goldenPath } from '../helpers/golden.js';

const golden = goldenPath('clip_text');

test('clip_text golden: every case passes (forward, pooled, inputs_embeds, backward)', async (t) => {
  t.true(existsSync(golden), `${golden} is missing`);
  const results = await runConformance(golden);
  t.is(results.length, 4);
  for (const r of results) t.true(r.pass, `${r.case}: rel ${r.rel} tol ${r.tol} ${r.error ?? ''}`);
});

test('clip_text rejects bad inputs with typed errors', async (t) => {
  const model = await Model.load('clip_text', golden);
  const { Tensor } = await import('../../lib/index.js');
  const e1 = await t.throwsAsync(model.run('forward', {}), { instanceOf: VlvError });
  t.is(e1?.code, 'E_ARG');
  const tooLong = Tensor.from(new BigInt64Array(78), [1, 78]);
  const e2 = await t.throwsAsync(model.run('forward', { input_ids: tooLong }), { instanceOf: VlvError });
  t.is(e2?.code, 'E_SHAPE');
  const e3 = await t.throwsAsync(model.run('nope', {}), { instanceOf: VlvError });
  t.is(e3?.code, 'E_ARG');
  model.dispose();
  const e4 = await t.throwsAsync(model.run('forward', {}), { instanceOf: VlvError });
  t.is(e4?.code, 'E_DISPOSED');
});

test('an unknown model kind and a missing folder are typed errors', async (t) => {
  t.is((await t.throwsAsync(Model.load('nope', golden), { instanceOf: VlvError }))?.code, 'E_ARG');
  t.is((await t.throwsAsync(Model.load('clip_text', '/nonexistent-folder'), { instanceOf: VlvError }))?.code, 'E_FILE');
});

test('clip_skip gives final_layer_norm(hidden_states[-(k+1)]) as diffusers pipelines use it', async (t) => {
  const { Tensor, ops } = await import('../../lib/index.js');
  const model = await Model.load('clip_text', golden);
  const ids = Tensor.from(
    BigInt64Array.from({ length: 77 }, (_, i) => BigInt((i * 7) % 1000)),
    [1, 77],
    'i64',
  );
  const base = await model.run('forward', { input_ids: ids });
  const skip0 = await model.run('forward', { input_ids: ids }, { clipSkip: 0 });
  t.deepEqual(Array.from(skip0.prompt_embeds!.toFloat32()), Array.from(base.last_hidden_state!.toFloat32()));
  const skip1 = await model.run('forward', { input_ids: ids }, { clipSkip: 1 });
  const p = model.parameters();
  const normed = await ops.layerNorm(
    base.penultimate_hidden_state!,
    p['text_model.final_layer_norm.weight'],
    p['text_model.final_layer_norm.bias'],
    1e-5,
  );
  const a = skip1.prompt_embeds!.toFloat32();
  const b = normed.toFloat32();
  t.true(a.every((v, i) => Math.abs(v - b[i]!) <= 1e-6 * (1 + Math.abs(b[i]!))));
  t.is(
    (await t.throwsAsync(model.run('forward', { input_ids: ids }, { clipSkip: 3 }), { instanceOf: VlvError }))?.code,
    'E_ARG',
  );
  model.dispose();
});

test('ClipTextModel: typed forward (ids, embeds, clipSkip) equals the engine outputs; config from the engine', async (t) => {
  const { ClipTextModel, Tensor } = await import('../../lib/index.js');
  const clip = await ClipTextModel.load(golden);
  t.is(clip.config.hidden_size, 64);
  t.is(clip.config.max_position_embeddings, 77);
  t.is(clip.config.eos_token_id, 2);
  const ids = Tensor.from(
    BigInt64Array.from({ length: 77 }, (_, i) => BigInt((i * 7) % 1000)),
    [1, 77],
    'i64',
  );
  const raw = await clip.run('forward', { input_ids: ids }, { clipSkip: 1 });
  const out = await clip.forward({ inputIds: ids }, { clipSkip: 1 });
  t.is(out.hiddenStates.length, clip.config.num_hidden_layers + 1);
  t.deepEqual(out.promptEmbeds.toFloat32(), raw.prompt_embeds!.toFloat32());
  t.deepEqual(out.lastHiddenState.toFloat32(), raw.last_hidden_state!.toFloat32());
  t.deepEqual(out.poolerOutput!.toFloat32(), raw.pooler_output!.toFloat32());
  const embeds = await clip.forward({ inputsEmbeds: out.hiddenStates[0]! });
  t.is(embeds.poolerOutput, undefined);
  clip.dispose();
});
