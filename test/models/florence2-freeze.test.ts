// Freezing per module (lib/models/freeze.ts) on the golden Florence-2: a backward through the
// query decoder with only the queries and a few decoder modules unfrozen leaves every frozen
// parameter without .grad, and the unfrozen ones get gradients that match central finite
// differences (each perturbed weight loaded as its own model folder).
import test from 'ava';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  backward,
  freeze,
  loadSafetensors,
  Model,
  noGrad,
  saveSafetensors,
  Tensor,
  trainableParameters,
  unfreeze,
  VlvError,
} from '../../lib/index.js';
import { goldenPath } from '../helpers/golden.js';

const golden = goldenPath('florence2');

function seeded(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; ++i) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * scale;
  }
  return out;
}

async function encoderStates(model: Model): Promise<Tensor> {
  const pixel = Tensor.from(seeded(2 * 3 * 64 * 64, 3, 4), [2, 3, 64, 64]);
  const ids = Tensor.from([0, 17, 45, 200, 9, 2, 0, 88, 31, 5, 260, 2], [2, 6], 'i64');
  return noGrad(async () => {
    const { image_features } = await model.run('image_features', { pixel_values: pixel });
    const { inputs_embeds } = await model.run('merge', { image_features: image_features!, input_ids: ids });
    return (await model.run('encoder', { inputs_embeds: inputs_embeds! })).last_hidden_state!;
  });
}

const queriesData = seeded(2 * 7 * 32, 11, 2);
const gradOut = Tensor.from(seeded(2 * 7 * 32, 5, 2), [2, 7, 32]);

// sum(query_decoder(queries) * gradOut) for a model, in float64.
async function objective(model: Model, enc: Tensor): Promise<number> {
  const q = Tensor.from(queriesData, [2, 7, 32]);
  const out = await noGrad(() => model.run('query_decoder', { inputs_embeds: q, encoder_hidden_states: enc }));
  const a = out.last_hidden_state!.toArray() as Float32Array,
    g = gradOut.toArray() as Float32Array;
  let s = 0;
  for (let i = 0; i < a.length; ++i) s += a[i]! * g[i]!;
  return s;
}

test('unfrozen decoder modules and queries get gradients matching finite differences; frozen ones none', async (t) => {
  const model = await Model.load('florence2', golden);
  t.deepEqual(trainableParameters(model), [], 'everything is frozen after load');
  const enc = await encoderStates(model);
  const unfrozen = unfreeze(model, [
    'language_model.model.decoder.layers.1.fc1.',
    'language_model.model.decoder.layers.0.self_attn.q_proj.weight',
    'language_model.model.decoder.layernorm_embedding.',
  ]);
  t.deepEqual(unfrozen, [
    'language_model.model.decoder.layernorm_embedding.bias',
    'language_model.model.decoder.layernorm_embedding.weight',
    'language_model.model.decoder.layers.0.self_attn.q_proj.weight',
    'language_model.model.decoder.layers.1.fc1.bias',
    'language_model.model.decoder.layers.1.fc1.weight',
  ]);
  t.deepEqual(trainableParameters(model), unfrozen);

  const queries = Tensor.from(queriesData, [2, 7, 32]);
  queries.requiresGrad = true;
  const { last_hidden_state: out } = await model.run('query_decoder', {
    inputs_embeds: queries,
    encoder_hidden_states: enc,
  });
  await backward(out!, gradOut);
  t.truthy(queries.grad, 'the queries get a gradient');
  const params = model.parameters();
  for (const [name, p] of Object.entries(params)) {
    if (unfrozen.includes(name)) t.deepEqual(p.grad?.shape, p.shape, `${name} has a gradient`);
    else t.is(p.grad, null, `${name} is frozen: no gradient`);
  }

  // Central differences on the entries with the largest gradients of three unfrozen tensors.
  const weights = (await loadSafetensors(join(golden, 'model.safetensors'))).tensors;
  const base = await objective(model, enc);
  const eps = 1e-2;
  for (const name of unfrozen.filter((n) => !n.endsWith('layernorm_embedding.bias'))) {
    const grad = params[name]!.grad!.toArray() as Float32Array;
    let at = 0;
    for (let i = 1; i < grad.length; ++i) if (Math.abs(grad[i]!) > Math.abs(grad[at]!)) at = i;
    const values = weights[name]!.toArray() as Float32Array;
    const f: number[] = [];
    for (const sign of [1, -1]) {
      const changed = values.slice();
      changed[at]! += sign * eps;
      const dir = mkdtempSync(join(tmpdir(), 'vlv-florence2-fd-'));
      symlinkSync(join(golden, 'config.json'), join(dir, 'config.json'));
      await saveSafetensors(join(dir, 'model.safetensors'), {
        ...weights,
        [name]: Tensor.from(changed, weights[name]!.shape),
      });
      f.push(await objective(await Model.load('florence2', dir), enc));
    }
    const fd = (f[0]! - f[1]!) / (2 * eps);
    t.log(
      `${name}[${at}]: autograd ${grad[at]!.toFixed(5)}, finite difference ${fd.toFixed(5)} (objective ${base.toFixed(4)})`,
    );
    t.true(Math.abs(fd - grad[at]!) <= 1e-3 * Math.max(1, Math.abs(grad[at]!)), `${name}[${at}]`);
  }

  t.deepEqual(freeze(model).length, Object.keys(params).length);
  t.deepEqual(trainableParameters(model), []);
  const e = t.throws(() => unfreeze(model, 'language_model.model.decodr.'));
  t.true(e instanceof VlvError && e.code === 'E_ARG' && e.message.includes('decodr'), e?.message);
});
