// Options at the public surface are camelCase; lib/options.ts is the one place that turns them
// into the engine's snake_case attributes (and reads engine-spelled data back).
import test from 'ava';
import { Model, ops, Tensor, VlvError } from '../../lib/index.js';
import { camelCase, engineAttrs, optionsFromEngine, snakeCase } from '../../lib/options.js';
import { readFixture } from '../helpers/fixture-file.js';
import { goldenPath } from '../helpers/golden.js';
import { listFixtures } from '../helpers/op-fixtures.js';

test('camelCase options become the engine attributes; undefined values are left out', (t) => {
  t.deepEqual(engineAttrs({ transA: true, alpha: 0.5, prevX0Coef: 0.3, beta1: 0.9, scale: undefined }, 'matmul'), {
    trans_a: true,
    alpha: 0.5,
    prev_x0_coef: 0.3,
    beta1: 0.9,
  });
  t.deepEqual(optionsFromEngine({ max_new_tokens: 5, x0_coef: 1, dtype: 'f32' }), {
    maxNewTokens: 5,
    x0Coef: 1,
    dtype: 'f32',
  });
});

test('every attribute name the op fixtures and generation use survives camelCase and back', (t) => {
  const names = new Set([
    'max_new_tokens',
    'num_return_sequences',
    'no_repeat_ngram_size',
    'output_hidden_states',
    'clip_skip',
    'num_inference_steps',
    'latent_channels',
    'cuda_graphs',
    'weight_decay',
    'max_norm',
    'norm_groups',
  ]);
  for (const path of listFixtures()) {
    const attrs = JSON.parse(readFixture(path).metadata.attrs ?? '{}') as Record<string, unknown>;
    for (const k of Object.keys(attrs)) names.add(k);
  }
  t.true(names.size > 20);
  for (const name of names) t.is(snakeCase(camelCase(name)), name);
});

test('a snake_case option is E_ARG naming its camelCase spelling (ops and models alike)', async (t) => {
  const a = Tensor.from([1, 2, 3, 4], [2, 2]);
  const e = await t.throwsAsync(ops.runOp('matmul', [a, a], { trans_b: true }), { instanceOf: VlvError });
  t.is(e.code, 'E_ARG');
  t.regex(e.message, /^matmul: options are camelCase: 'trans_b' is spelled 'transB'/);
  t.deepEqual(Array.from((await ops.runOp('matmul', [a, a], { transB: true }))[0]!.toFloat32()), [5, 11, 11, 25]);
  t.throws(() => ops.runOpSync('scale', [a], { alpha_: 1 }), {
    instanceOf: VlvError,
    message: /options are camelCase/,
  });
  const m = await Model.load('scheduler', goldenPath('schedulers', 'ddim-epsilon'));
  try {
    const bad = await t.throwsAsync(m.run('set_timesteps', {}, { num_inference_steps: 3 }), { instanceOf: VlvError });
    t.regex(
      bad.message,
      /^scheduler\.set_timesteps: options are camelCase: 'num_inference_steps' is spelled 'numInferenceSteps'/,
    );
    t.is((await m.run('set_timesteps', {}, { numInferenceSteps: 3 })).timesteps!.shape[0], 3);
  } finally {
    m.dispose();
  }
});
