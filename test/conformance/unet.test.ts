// UNet2DConditionModel folders through the project's own loader and conformance runner: the
// shared golden (diffusers 0.33.1, SD 2.1 layout) and two generated variants
// (scripts/models/gen_unet_variants.py: conv projections / padding 0 / odd latents; linear
// projections / per-block heads / only_cross_attention / encoder_attention_mask).
import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runConformance } from '../../lib/testing.js';
import { goldenPath } from '../helpers/golden.js';

const golden = goldenPath('unet');
const variants = join(import.meta.dirname, '..', 'fixtures', 'models');

test('unet golden: forward and backward pass', async (t) => {
  t.true(existsSync(golden), `${golden} is missing`);
  const results = await runConformance(golden);
  t.deepEqual(
    results.map((r) => r.case),
    ['forward', 'backward'],
  );
  for (const r of results) t.true(r.pass, `${r.case}: rel ${r.rel} tol ${r.tol} ${r.error ?? ''}`);
});

for (const variant of ['conv-proj', 'linear-proj']) {
  test(`unet variant ${variant}: every case passes`, async (t) => {
    const results = await runConformance(join(variants, `unet-${variant}`));
    t.true(results.length >= 3);
    for (const r of results) t.true(r.pass, `${r.case}: rel ${r.rel} tol ${r.tol} ${r.error ?? ''}`);
  });
}
