/**
 * `vlv conformance <folder>`: checks a reference folder in the ../shared/golden format
 * (config + weights + cases.json + cases.safetensors) through the project's own loaders.
 * Each case prints {case, maxAbs, rel, tol, pass}; any failure makes the run fail. Works for
 * any folder of a supported component, whatever its sizes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../tensor.js';
import { loadSafetensors } from '../safetensors.js';
import { VlvError } from '../errors.js';
import { compareValues, toleranceFor, type CaseSpec } from './cases.js';
import { componentRunners } from './components.js';

export interface CaseResult {
  case: string;
  maxAbs: number;
  rel: number;
  tol: number;
  pass: boolean;
  outputs: Record<string, { maxAbs: number; rel: number; tol: number; pass: boolean }>;
  error?: string;
}

interface CasesFile {
  component: string;
  reference?: string;
  cases: CaseSpec[];
}

/** The entries of `values` (shaped `shape`) whose leading indices select a nonzero of `where`. */
function selectWhere(values: Float64Array, shape: readonly number[], where: Tensor): Float64Array {
  const mask = asNumbers(where);
  const leading = where.shape.length;
  if (JSON.stringify(shape.slice(0, leading)) !== JSON.stringify(where.shape))
    throw new VlvError(
      'E_SHAPE',
      `compare_where: mask [${where.shape.join(', ')}] does not lead [${shape.join(', ')}]`,
    );
  const inner = values.length / Math.max(mask.length, 1);
  return values.filter((_, i) => mask[Math.floor(i / inner)] !== 0);
}

function asNumbers(t: Tensor): Float64Array {
  if (t.dtype === 'i64') return Float64Array.from(t.toArray() as BigInt64Array, Number);
  if (t.dtype === 'i32') return Float64Array.from(t.toArray() as Int32Array);
  return Float64Array.from(t.toFloat32());
}

export interface ConformanceOptions {
  /** Run the models on 'cuda' (inputs are copied there; outputs compared on the CPU). Default 'cpu'. */
  device?: 'cpu' | 'cuda';
}

export async function runConformance(
  folder: string,
  onCase?: (r: CaseResult) => void,
  options: ConformanceOptions = {},
): Promise<CaseResult[]> {
  const device = options.device ?? 'cpu';
  let spec: CasesFile;
  try {
    spec = JSON.parse(readFileSync(join(folder, 'cases.json'), 'utf8')) as CasesFile;
  } catch (e) {
    throw new VlvError('E_FILE', `conformance: cannot read ${join(folder, 'cases.json')}: ${(e as Error).message}`);
  }
  const data = await loadSafetensors(join(folder, 'cases.safetensors'));
  const session = await componentRunners(spec.component, folder, { device });
  const { runners } = session;
  const results: CaseResult[] = [];
  try {
    for (const c of spec.cases) {
      const result: CaseResult = { case: c.name, maxAbs: 0, rel: 0, tol: 0, pass: true, outputs: {} };
      try {
        const runner = runners[c.call];
        if (!runner) throw new VlvError('E_ARG', `call '${c.call}' is not supported`);
        const inputs: Record<string, Tensor> = {};
        for (const [arg, name] of Object.entries(c.inputs)) {
          const t = data.tensors[name];
          if (!t) throw new VlvError('E_FILE_FORMAT', `tensor '${name}' is missing from cases.safetensors`);
          inputs[arg] = device === 'cpu' ? t : await t.to(device);
        }
        const out = await runner(c, inputs);
        for (const [key, name] of Object.entries(c.outputs)) {
          const expected = data.tensors[name];
          const actual = out[key];
          const tol = toleranceFor(c, key);
          let cmp = { rel: Infinity, maxAbs: Infinity };
          if (actual && expected && JSON.stringify(actual.shape) === JSON.stringify(expected.shape)) {
            let a = asNumbers(actual);
            let e = asNumbers(expected);
            if (c.compare_where) {
              const where = data.tensors[c.compare_where];
              if (!where)
                throw new VlvError('E_FILE_FORMAT', `tensor '${c.compare_where}' is missing from cases.safetensors`);
              a = selectWhere(a, expected.shape, where);
              e = selectWhere(e, expected.shape, where);
            }
            cmp = compareValues(a, e);
          }
          const pass = cmp.rel <= tol;
          result.outputs[key] = { ...cmp, tol, pass };
          result.maxAbs = Math.max(result.maxAbs, cmp.maxAbs);
          if (cmp.rel / (tol || 1) >= result.rel / (result.tol || 1)) {
            result.rel = cmp.rel;
            result.tol = tol;
          }
          result.pass = result.pass && pass;
        }
      } catch (e) {
        const err = VlvError.from(e);
        result.pass = false;
        result.rel = Infinity;
        result.error = `${err.code}: ${err.message}`;
      }
      results.push(result);
      onCase?.(result);
    }
  } finally {
    session.dispose();
    for (const t of Object.values(data.tensors)) t.dispose();
  }
  return results;
}
