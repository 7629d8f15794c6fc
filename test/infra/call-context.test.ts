// Long calls: an AbortSignal rejects with E_ABORTED within one step, progress arrives per
// step on the JS thread, and the same model keeps working afterwards.
import test from 'ava';
import { join } from 'node:path';
import { Model, VlvError } from '../../lib/index.js';
import { loadSafetensors } from '../../lib/safetensors.js';
import { goldenPath } from '../helpers/golden.js';

const golden = goldenPath('qwen2');

async function prefix() {
  const data = await loadSafetensors(join(golden, 'cases.safetensors'));
  return data.tensors['embeds.in.inputs_embeds']!;
}

test('generation reports progress per token and can be aborted mid-way', async (t) => {
  const model = await Model.load('qwen2', golden);
  const embeds = await prefix();
  const seen: number[] = [];
  const out = await model.run(
    'generate',
    { inputs_embeds: embeds },
    { maxNewTokens: 6 },
    {
      onProgress: (p) => {
        t.is(p.stage, 'token');
        t.is(p.total, 6);
        seen.push(p.done);
      },
    },
  );
  t.deepEqual(out.ids!.shape, [1, 6]);
  await new Promise((r) => setImmediate(r)); // let queued progress calls land
  t.deepEqual(seen, [1, 2, 3, 4, 5, 6]);

  const ac = new AbortController();
  let steps = 0;
  const run = model.run(
    'generate',
    { inputs_embeds: embeds },
    { maxNewTokens: 200 },
    {
      signal: ac.signal,
      onProgress: () => {
        if (++steps === 3) ac.abort();
      },
    },
  );
  const e = await t.throwsAsync(run, { instanceOf: VlvError });
  t.is(e?.code, 'E_ABORTED');
  t.true(steps < 200, `stopped after ${steps} steps`);

  const already = new AbortController();
  already.abort();
  const e2 = await t.throwsAsync(model.run('generate', { inputs_embeds: embeds }, {}, { signal: already.signal }), {
    instanceOf: VlvError,
  });
  t.is(e2?.code, 'E_ABORTED');
  const again = await model.run('generate', { inputs_embeds: embeds }, { maxNewTokens: 2 });
  t.deepEqual(again.ids!.shape, [1, 2]);
  model.dispose();
});
