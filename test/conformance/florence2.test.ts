// Florence-2 (florence2 kind): the shared golden folder and a second folder of other sizes
// (scripts/models/gen_florence2_alt.py) through the project's loader and conformance runner,
// plus the loader's and methods' typed errors.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConformance } from '../../lib/testing.js';
import { loadSafetensors, Model, saveSafetensors, Tensor, VlvError } from '../../lib/index.js';
import { goldenPath } from '../helpers/golden.js';

const golden = goldenPath('florence2');
const alt = join(import.meta.dirname, '..', 'fixtures', 'models', 'florence2-alt');

for (const [label, folder, count] of [
  ['golden', golden, 8],
  ['other sizes', alt, 7],
] as const) {
  test(`florence2 ${label}: every case passes`, async (t) => {
    t.true(existsSync(folder), `${folder} is missing`);
    const results = await runConformance(folder);
    t.is(results.length, count);
    for (const r of results) t.true(r.pass, `${r.case}: rel ${r.rel} tol ${r.tol} ${r.error ?? ''}`);
  });
}

/** The parts of the golden config.json the variants below edit (the rest is kept as read). */
interface Florence2Config {
  text_config: Record<string, unknown>;
  vision_config: Record<string, unknown> & { image_pos_embed: Record<string, unknown> };
}

// A copy of the golden folder with its config edited and, optionally, other weights.
async function variant(edit: (config: Florence2Config) => void, weights?: Record<string, Tensor>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'vlv-florence2-'));
  const config = JSON.parse(readFileSync(join(golden, 'config.json'), 'utf8')) as Florence2Config;
  edit(config);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  if (weights) await saveSafetensors(join(dir, 'model.safetensors'), weights);
  else symlinkSync(join(golden, 'model.safetensors'), join(dir, 'model.safetensors'));
  return dir;
}

async function loadError(dir: string): Promise<VlvError | undefined> {
  try {
    await Model.load('florence2', dir);
    return undefined;
  } catch (e) {
    return e as VlvError;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('florence2 config: unknown or unsupported fields are rejected, not ignored', async (t) => {
  const unknown = await loadError(await variant((c) => (c.text_config.new_field = 1)));
  t.is(unknown?.code, 'E_ARG');
  t.regex(unknown!.message, /new_field/);
  const vision = await loadError(await variant((c) => (c.vision_config.image_pos_embed.type = 'sine')));
  t.is(vision?.code, 'E_ARG');
  const source = await loadError(await variant((c) => (c.vision_config.image_feature_source = ['last_frame', 'nope'])));
  t.is(source?.code, 'E_FILE_FORMAT');
  t.regex(source!.message, /nope/);
  const prenorm = await loadError(await variant((c) => (c.vision_config.patch_prenorm = [false])));
  t.is(prenorm?.code, 'E_FILE_FORMAT');
  const sizes = await loadError(await variant((c) => (c.text_config.d_model = 40)));
  t.is(sizes?.code, 'E_FILE_FORMAT');
});

test('florence2 weights: the tied word embeddings must hold the same values', async (t) => {
  const { tensors } = await loadSafetensors(join(golden, 'model.safetensors'));
  const key = 'language_model.model.decoder.embed_tokens.weight';
  const values = tensors[key]!.toFloat32();
  values[5] = (values[5] ?? 0) + 1;
  tensors[key] = Tensor.from(values, tensors[key]!.shape);
  const e = await loadError(await variant(() => {}, tensors));
  t.is(e?.code, 'E_FILE_FORMAT');
  t.regex(e!.message, /embed_tokens/);
  for (const x of Object.values(tensors)) x.dispose();
});

test('florence2 methods: typed errors and one tensor for the tied embeddings', async (t) => {
  const model = await Model.load('florence2', golden);
  const p = model.parameters();
  const shared = p['language_model.model.shared.weight']!.toFloat32();
  for (const k of ['language_model.model.encoder.embed_tokens.weight', 'language_model.lm_head.weight'])
    t.deepEqual(p[k]!.toFloat32(), shared);
  t.is(Object.keys(p).length, 173);

  const code = async (method: string, inputs: Record<string, Tensor>) =>
    (await t.throwsAsync(model.run(method, inputs), { instanceOf: VlvError }))?.code;
  t.is(await code('nope', {}), 'E_ARG');
  t.is(await code('vision_tower', {}), 'E_ARG');
  t.is(await code('vision_tower', { pixel_values: Tensor.zeros([1, 4, 32, 32]) }), 'E_SHAPE');
  t.is(await code('vision_tower', { pixel_values: Tensor.zeros([3, 32, 32]) }), 'E_SHAPE');
  t.is(await code('encoder', { inputs_embeds: Tensor.zeros([1, 5, 31]) }), 'E_SHAPE');
  t.is(await code('encoder', { inputs_embeds: Tensor.zeros([1, 129, 32]) }), 'E_SHAPE');
  t.is(
    await code('encoder', { inputs_embeds: Tensor.zeros([1, 5, 32]), attention_mask: Tensor.zeros([1, 4]) }),
    'E_SHAPE',
  );
  t.is(
    await code('query_decoder', {
      inputs_embeds: Tensor.zeros([2, 3, 32]),
      encoder_hidden_states: Tensor.zeros([1, 5, 32]),
    }),
    'E_SHAPE',
  );
  t.is(
    await code('merge', { image_features: Tensor.zeros([2, 4, 32]), input_ids: Tensor.zeros([3, 2], 'i64') }),
    'E_SHAPE',
  );
  // image features need the 2-D position table to cover the map: 50 positions, stride 8 -> > 400 px fails
  t.is(await code('image_features', { pixel_values: Tensor.zeros([1, 3, 8, 416]) }), 'E_SHAPE');
  model.dispose();
});
