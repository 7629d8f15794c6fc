// The test registry: every op of the list has reference fixtures, forward and (where it
// has a backward rule) gradients. Adding an op without its fixtures fails here.
import test from 'ava';
import { ops } from '../../lib/index.js';
import { fixtureMeta, listFixtures } from '../helpers/op-fixtures.js';

test('every op has a forward fixture, and a gradient fixture if it has a backward', (t) => {
  const forward = new Set<string>();
  const grad = new Set<string>();
  for (const p of listFixtures()) {
    const m = fixtureMeta(p);
    forward.add(m.op);
    if (m.hasGrad) grad.add(m.op);
  }
  const list = ops.opList();
  t.true(list.length >= 30);
  const missing = list.filter((o) => !forward.has(o.name)).map((o) => o.name);
  const missingGrad = list.filter((o) => o.hasBackward && !grad.has(o.name)).map((o) => o.name);
  t.deepEqual(missing, [], `ops without a forward fixture: ${missing.join(', ')}`);
  t.deepEqual(missingGrad, [], `ops without a gradient fixture: ${missingGrad.join(', ')}`);
});
