// The golden diffusers v0.33.1 scheduler folders (DDPM, DDIM, Euler, DPM-Solver++ 2M, each
// for epsilon and v_prediction) pass through Model kind 'scheduler': the 20-step trajectory
// (every per-step scaled input and latent), add_noise and get_velocity.
import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runConformance } from '../../lib/testing.js';
import { goldenPath } from '../helpers/golden.js';

const root = goldenPath('schedulers');
const folders = ['ddpm', 'ddim', 'euler', 'dpmpp2m'].flatMap((k) => [`${k}-epsilon`, `${k}-v_prediction`]);

test('the golden scheduler folders are present', (t) => {
  t.true(existsSync(root), `missing ${root}`);
  t.deepEqual(readdirSync(root).sort(), [...folders].sort());
});

for (const name of folders) {
  test(`golden ${name}: every case passes`, async (t) => {
    const results = await runConformance(join(root, name));
    t.true(results.length >= 2);
    t.true(results.some((r) => r.case === 'trajectory'));
    for (const r of results) t.true(r.pass, `${name}/${r.case}: rel ${r.rel} tol ${r.tol} ${r.error ?? ''}`);
  });
}
