/** Runs one op fixture (format: scripts/fixtures/common.py) and reports every comparison. */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { backward, type Tensor } from '../../lib/index.js';
import { runOp } from '../../lib/ops.js';
import type { AttrValue } from '../../lib/native.js';
import { optionsFromEngine, type Options } from '../../lib/options.js';
import { readFixture, toFloat64, toTensor } from './fixture-file.js';
import { diff, values } from './compare.js';

export const FIXTURE_ROOT = join(import.meta.dirname, '..', 'fixtures', 'ops');

export function listFixtures(root = FIXTURE_ROOT): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.safetensors')) out.push(p);
    }
  };
  walk(root);
  return out;
}

export interface Check {
  what: string;
  rel: number;
  tol: number;
  pass: boolean;
  note?: string;
}

export interface FixtureMeta {
  op: string;
  /** The op's attributes as options (the file holds them in the engine's spelling). */
  attrs: Options;
  nInputs: number;
  tol: number;
  hasGrad: boolean;
  doc: string;
}

export function fixtureMeta(path: string): FixtureMeta {
  const f = readFixture(path);
  const m = f.metadata;
  return {
    op: m.op!,
    attrs: optionsFromEngine(JSON.parse(m.attrs ?? '{}') as Record<string, AttrValue>),
    nInputs: Number(m.n_inputs),
    tol: Number(m.tol ?? '1e-4'),
    hasGrad: [...f.tensors.keys()].some((k) => k.startsWith('gin.')),
    doc: m.doc ?? '',
  };
}

export function fixtureName(path: string): string {
  return relative(FIXTURE_ROOT, path).replace(/\.safetensors$/, '');
}

export async function runFixture(path: string): Promise<Check[]> {
  const f = readFixture(path);
  const meta = fixtureMeta(path);
  const checks: Check[] = [];
  const inputs: (Tensor | null)[] = [];
  for (let i = 0; i < meta.nInputs; i++) {
    const raw = f.tensors.get(`in.${i}`);
    const t = raw ? toTensor(raw) : null;
    if (t && f.tensors.has(`gin.${i}`)) t.requiresGrad = true;
    inputs.push(t);
  }
  const outputs = await runOp(meta.op, inputs, meta.attrs);
  const expectedOuts = [...f.tensors.keys()].filter((k) => k.startsWith('out.')).length;
  if (expectedOuts > outputs.length)
    checks.push({
      what: 'output count',
      rel: Infinity,
      tol: 0,
      pass: false,
      note: `${outputs.length} < ${expectedOuts}`,
    });
  const compare = (what: string, t: Tensor, rawName: string) => {
    const raw = f.tensors.get(rawName)!;
    const shapeOk = JSON.stringify(t.shape) === JSON.stringify(raw.shape);
    if (!shapeOk) {
      checks.push({
        what,
        rel: Infinity,
        tol: meta.tol,
        pass: false,
        note: `shape [${t.shape.join(',')}] vs [${raw.shape.join(',')}]`,
      });
      return;
    }
    const d = diff(values(t), toFloat64(raw));
    const exact = !raw.dtype.startsWith('F') && raw.dtype !== 'BF16';
    const tol = exact ? 0 : meta.tol;
    checks.push({
      what,
      rel: d.rel,
      tol,
      pass: d.nonFinite === 0 && d.rel <= tol,
      note: d.nonFinite ? `${d.nonFinite} non-finite` : undefined,
    });
  };
  outputs.forEach((o, i) => {
    if (f.tensors.has(`out.${i}`)) compare(`out.${i}`, o, `out.${i}`);
  });
  for (let i = 0; i < meta.nInputs; i++) {
    if (f.tensors.has(`after.${i}`) && inputs[i]) compare(`after.${i}`, inputs[i]!, `after.${i}`);
  }
  if (meta.hasGrad) {
    const roots: Tensor[] = [];
    const grads: Tensor[] = [];
    outputs.forEach((o, i) => {
      const g = f.tensors.get(`gout.${i}`);
      if (g && o.requiresGrad) {
        roots.push(o);
        grads.push(toTensor(g));
      }
    });
    await backward(roots, grads);
    for (let i = 0; i < meta.nInputs; i++) {
      if (!f.tensors.has(`gin.${i}`)) continue;
      const g = inputs[i]!.grad;
      if (!g) {
        checks.push({ what: `gin.${i}`, rel: Infinity, tol: meta.tol, pass: false, note: 'no gradient' });
        continue;
      }
      compare(`gin.${i}`, g, `gin.${i}`);
    }
  }
  for (const t of [...inputs, ...outputs]) t?.dispose();
  return checks;
}
