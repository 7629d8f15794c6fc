// The golden CLIPTextModel folder through the project's own loader and conformance runner.
import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runConformance } from '../lib/conformance/run.js';
import { Model, VlvError } from '../lib/index.js';

const golden = join(import.meta.dirname, '..', '..', 'shared', 'golden', 'clip_text');

test('clip_text golden: every case passes (forward, pooled, inputs_embeds, backward)', async (t) => {
  t.true(existsSync(golden), `${golden} is missing`);
  const results = await runConformance(golden);
  t.is(results.length, 4);
  for (const r of results) t.true(r.pass, `${r.case}: rel ${r.rel} tol ${r.tol} ${r.error ?? ''}`);
});

test('clip_text rejects bad inputs with typed errors', async (t) => {
  const model = await Model.load('clip_text', golden);
  const { Tensor } = await import('../lib/index.js');
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
