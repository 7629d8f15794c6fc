// The golden Qwen2ForCausalLM folder through the project's own loader and conformance runner.
import test from 'ava';
import { existsSync } from 'node:fs';
import { runConformance } from '../../lib/testing.js';
import { goldenPath } from '../helpers/golden.js';

const golden = goldenPath('qwen2');

test('qwen2 golden: every case passes (padded logits, embeds, greedy, beam, beam+eos, loss+grad)', async (t) => {
  t.true(existsSync(golden), `${golden} is missing`);
  const results = await runConformance(golden);
  t.is(results.length, 8);
  for (const r of results) t.true(r.pass, `${r.case}: rel ${r.rel} tol ${r.tol} ${r.error ?? ''}`);
});
