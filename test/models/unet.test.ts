// The unet model beyond its conformance cases: config fields it must reject (never silently
// ignore), input validation, timestep forms ([B], [1], scalar; i64/i32/f32), parameters by
// reference name, and thread-count independence.
import test from 'ava';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Model, Tensor, VlvError, inspectSafetensors, setNumThreads } from '../../lib/index.js';
import { goldenPath } from '../helpers/golden.js';

const golden = goldenPath('unet');
const config = JSON.parse(readFileSync(join(golden, 'config.json'), 'utf8')) as Record<string, unknown>;
const weights = 'diffusion_pytorch_model.safetensors';

/** Loads the golden weights under a modified config; the error it throws, if any. */
async function loadWith(changes: Record<string, unknown>): Promise<VlvError | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'vlv-unet-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, ...changes }));
    copyFileSync(join(golden, weights), join(dir, weights));
    const model = await Model.load('unet', dir);
    model.dispose();
    return undefined;
  } catch (e) {
    return e as VlvError;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function rand(shape: number[], seed: number): Tensor {
  let s = seed;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    v[i] = s / 1073741824 - 1;
  }
  return Tensor.from(v, shape);
}

const sample = rand([2, 4, 8, 8], 1);
const context = rand([2, 5, 64], 2);

test('unet rejects config fields that change the computation, naming them', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [
      { down_block_types: ['CrossAttnDownBlock2D', 'SimpleCrossAttnDownBlock2D', 'DownBlock2D'] },
      /SimpleCrossAttnDownBlock2D/,
    ],
    [{ up_block_types: ['UpBlock2D', 'AttnUpBlock2D', 'CrossAttnUpBlock2D'] }, /AttnUpBlock2D/],
    [{ num_attention_heads: 4 }, /num_attention_heads/],
    [{ resnet_time_scale_shift: 'scale_shift' }, /resnet_time_scale_shift/],
    [{ act_fn: 'gelu' }, /act_fn/],
    [{ class_embed_type: 'timestep' }, /class_embed_type/],
    [{ addition_embed_type: 'text_time' }, /addition_embed_type/],
    [{ mid_block_type: 'UNetMidBlock2DSimpleCrossAttn' }, /mid_block_type/],
    [{ time_embedding_type: 'fourier' }, /time_embedding_type/],
    [{ dual_cross_attention: true }, /dual_cross_attention/],
    [{ some_new_field: 1 }, /some_new_field/],
  ];
  for (const [change, message] of cases) {
    const err = await loadWith(change);
    t.truthy(err, JSON.stringify(change));
    t.is(err?.code, 'E_ARG', JSON.stringify(change));
    t.regex(err?.message ?? '', message);
  }
  // A config that does not match the weights is a file-format error naming the weight.
  const err = await loadWith({ use_linear_projection: false });
  t.is(err?.code, 'E_FILE_FORMAT');
  t.regex(err?.message ?? '', /proj_in\.weight/);
});

test('unet validates its inputs with typed errors', async (t) => {
  const model = await Model.load('unet', golden);
  const t64 = Tensor.from(new BigInt64Array([999n, 10n]), [2]);
  const bad: Array<[Record<string, Tensor>, string, RegExp]> = [
    [{ sample, timestep: t64 }, 'E_ARG', /encoder_hidden_states/],
    [{ sample: rand([2, 3, 8, 8], 3), timestep: t64, encoder_hidden_states: context }, 'E_SHAPE', /sample/],
    [{ sample, timestep: t64, encoder_hidden_states: rand([2, 5, 32], 4) }, 'E_SHAPE', /encoder_hidden_states/],
    [
      { sample, timestep: Tensor.from(new BigInt64Array(3), [3]), encoder_hidden_states: context },
      'E_SHAPE',
      /timestep/,
    ],
    [{ sample, timestep: Tensor.from([1, 0], [2], 'bool'), encoder_hidden_states: context }, 'E_DTYPE', /timestep/],
    [
      { sample, timestep: t64, encoder_hidden_states: context, encoder_attention_mask: Tensor.from([1, 1], [1, 2]) },
      'E_SHAPE',
      /encoder_attention_mask/,
    ],
  ];
  for (const [inputs, code, message] of bad) {
    const err = await t.throwsAsync(model.run('forward', inputs), { instanceOf: VlvError });
    t.is(err?.code, code as VlvError['code']);
    t.regex(err?.message ?? '', message);
  }
  const err = await t.throwsAsync(model.run('decode', {}), { instanceOf: VlvError });
  t.is(err?.code, 'E_ARG');
  model.dispose();
});

test('unet timestep forms: [B], [1] and scalar, i64/i32/f32, give the same output', async (t) => {
  const model = await Model.load('unet', golden);
  const run = async (timestep: Tensor) =>
    (await model.run('forward', { sample, timestep, encoder_hidden_states: context })).sample!.toFloat32();
  const ref = await run(Tensor.from(new BigInt64Array([500n, 500n]), [2]));
  t.deepEqual(await run(Tensor.from(new BigInt64Array([500n]), [1])), ref);
  t.deepEqual(await run(Tensor.from(new Int32Array([500]), [])), ref);
  t.deepEqual(await run(Tensor.from([500, 500], [2], 'f32')), ref);
  // An all-ones encoder_attention_mask changes nothing.
  const masked = await model.run('forward', {
    sample,
    timestep: Tensor.from(new BigInt64Array([500n]), [1]),
    encoder_hidden_states: context,
    encoder_attention_mask: Tensor.from(new Array(10).fill(1), [2, 5]),
  });
  t.deepEqual(masked.sample!.toFloat32(), ref);
  model.dispose();
});

test('unet parameters: every checkpoint tensor under its own name and shape', async (t) => {
  const model = await Model.load('unet', golden);
  const params = model.parameters();
  const file = inspectSafetensors(join(golden, weights));
  const stored = Object.fromEntries(file.files.flatMap((f) => f.tensors).map((e) => [e.name, e.shape]));
  t.deepEqual(Object.keys(params).sort(), Object.keys(stored).sort());
  for (const [name, p] of Object.entries(params)) t.deepEqual(p.shape, stored[name], name);
  model.dispose();
});

test('unet output does not depend on the thread count', async (t) => {
  const model = await Model.load('unet', golden);
  const timestep = Tensor.from(new BigInt64Array([999n, 10n]), [2]);
  const outputs: Float32Array[] = [];
  for (const n of [1, 2]) {
    setNumThreads(n);
    outputs.push(
      (await model.run('forward', { sample, timestep, encoder_hidden_states: context })).sample!.toFloat32(),
    );
  }
  t.deepEqual(outputs[0], outputs[1]);
  model.dispose();
});
