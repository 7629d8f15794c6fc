// Every op fixture (PyTorch references, float64) through runOp, forward and backward.
import test from 'ava';
import { fixtureName, listFixtures, runFixture } from '../helpers/op-fixtures.js';

for (const path of listFixtures()) {
  test(`op fixture ${fixtureName(path)}`, async (t) => {
    const checks = await runFixture(path);
    t.true(checks.length > 0, 'the fixture compared nothing');
    for (const c of checks)
      t.true(c.pass, `${c.what}: rel ${c.rel.toExponential(2)} > tol ${c.tol}${c.note ? ` (${c.note})` : ''}`);
  });
}
