// The test registry: every op of the list has reference fixtures, forward and (where it
// has a backward rule) gradients, and every family named in csrc/ops/ops.h has its files
// under that one name, its backward rules included. Adding an op without its fixtures, or a
// family without its files, fails here. The fused backward kernels (ops.h: VLV_GRAD_KERNELS)
// are internal: opList() does not show them and they have no fixtures of their own; the
// gradient fixtures of the ops whose rules call them check them.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ops } from '../../lib/index.js';
import { FIXTURE_ROOT, fixtureMeta, listFixtures } from '../helpers/op-fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');

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

test("each op's fixtures live in its family's folder", (t) => {
  const family = new Map(ops.opList().map((o) => [o.name, o.family]));
  const misplaced: string[] = [];
  for (const p of listFixtures()) {
    const folder = p.slice(FIXTURE_ROOT.length + 1).split('/')[0];
    const op = fixtureMeta(p).op;
    // weights16: linear / embedding with 16-bit weights, a second folder for two families.
    if (folder !== family.get(op) && folder !== 'weights16') misplaced.push(`${op} in ${folder}/`);
  }
  t.deepEqual(misplaced, []);
});

test('every family has its CPU kernels, CUDA glue and kernels, fixture generator and test file', (t) => {
  const families = [...new Set(ops.opList().map((o) => o.family))];
  t.true(families.length >= 10);
  const kernels = readdirSync(join(ROOT, 'csrc/ops/cuda/kernels'));
  const missing: string[] = [];
  for (const f of families) {
    const files = [
      `csrc/ops/cpu/${f}.cc`,
      `csrc/ops/cuda/${f}.cc`,
      `scripts/fixtures/gen_${f}.py`,
      `test/ops/${f}.test.ts`,
    ];
    for (const file of files) if (!existsSync(join(ROOT, file))) missing.push(file);
    if (!kernels.some((k) => k === `${f}.cu` || (k.startsWith(`${f}_`) && k.endsWith('.cu'))))
      missing.push(`csrc/ops/cuda/kernels/${f}*.cu`);
  }
  t.deepEqual(missing, []);
});

test('every family with a backward has its rules in csrc/ops/grad/<family>.cc', (t) => {
  const families = [
    ...new Set(
      ops
        .opList()
        .filter((o) => o.hasBackward)
        .map((o) => o.family),
    ),
  ];
  t.true(families.length >= 5);
  const missing = families.map((f) => `csrc/ops/grad/${f}.cc`).filter((file) => !existsSync(join(ROOT, file)));
  t.deepEqual(missing, []);
});

test('opList() and runOp show the user-facing ops only (the fused backward kernels are internal)', async (t) => {
  const names = ops.opList().map((o) => o.name);
  for (const internal of ['expand', 'activation_backward', 'softmax_backward', 'attention_backward'])
    t.false(names.includes(internal), `${internal} is internal`);
  t.is(new Set(names).size, names.length);
  const e = await t.throwsAsync(ops.runOp('softmax_backward', [], {}));
  t.regex(e.message, /unknown op 'softmax_backward'/);
});
