/**
 * The reference fixtures of ../shared/golden/ with the models on CUDA, at the f32 tolerance
 * each case states (the engine's tensors are f32). Run by `npm run test:gpu` on a GPU machine.
 */
import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runConformance } from '../lib/testing.js';
import { goldenPath } from '../test/helpers/golden.js';

const golden = goldenPath();
const folders = ['clip_text', 'unet', 'vae', 'qwen2', 'florence2'];

test('the golden folders are present', (t) => {
  t.true(existsSync(golden), `${golden} is missing`);
  t.true(folders.every((f) => readdirSync(golden).includes(f)));
});

for (const f of folders) {
  test(`golden ${f} on CUDA: every case passes`, async (t) => {
    const results = await runConformance(join(golden, f), undefined, { device: 'cuda' });
    t.true(results.length > 0);
    for (const r of results) t.true(r.pass, `${r.case}: rel ${r.rel} tol ${r.tol} ${r.error ?? ''}`);
  });
}
