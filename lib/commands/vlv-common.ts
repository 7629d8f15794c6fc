/**
 * What `vlv embed`, `vlv caption` and `vlv reconstruct` share: argument parsing (flags with a
 * value, switches, image paths), the model options (--model, --device, --dtype), progress on
 * stderr, and Ctrl-C as an AbortSignal.
 */
import { VlvError } from '../errors.js';
import type { Progress } from '../call-options.js';
import { VlvModel, type VlvUse } from '../vlv/model.js';

export interface ParsedArgs {
  values: Map<string, string>;
  switches: Set<string>;
  positional: string[];
}

/** The flags every VLV command takes (with a value). */
export const MODEL_FLAGS = ['model', 'device', 'dtype', 'batch-size', 'image-size'] as const;

export const MODEL_USAGE =
  '--model <VLV folder> [--device cpu|cuda] [--dtype f32|bf16] [--batch-size 4] [--image-size 384]';

/** Parses `--name value`, `--switch` and positional arguments; unknown flags are E_ARG with the usage. */
export function parseArgs(
  args: readonly string[],
  spec: { values: readonly string[]; switches?: readonly string[] },
  usage: string,
): ParsedArgs {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const name = a.slice(2);
    if (spec.switches?.includes(name)) {
      switches.add(name);
      continue;
    }
    if (!spec.values.includes(name)) throw new VlvError('E_ARG', `unknown argument '${a}'\n${usage}`);
    const v = args[++i];
    if (v === undefined) throw new VlvError('E_ARG', `${a} needs a value\n${usage}`);
    values.set(name, v);
  }
  return { values, switches, positional };
}

/** A numeric flag (integer when asked), or undefined when absent. */
export function numberFlag(p: ParsedArgs, name: string, integer = false): number | undefined {
  const v = p.values.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)))
    throw new VlvError('E_ARG', `--${name} takes ${integer ? 'an integer' : 'a number'}, got '${v}'`);
  return n;
}

/** One of a few words, or undefined when absent. */
export function choiceFlag<T extends string>(p: ParsedArgs, name: string, choices: readonly T[]): T | undefined {
  const v = p.values.get(name);
  if (v === undefined) return undefined;
  if (!(choices as readonly string[]).includes(v))
    throw new VlvError('E_ARG', `--${name} takes ${choices.join(' | ')}, got '${v}'`);
  return v as T;
}

/**
 * The VLV folder to load: --model. There is no built-in VLV model yet (the default model is
 * another issue), so a missing --model is E_ARG saying so.
 */
export function modelFolder(p: ParsedArgs, usage: string): string {
  const m = p.values.get('model');
  if (m === undefined)
    throw new VlvError(
      'E_ARG',
      `pass --model <VLV folder> (a vlv.json folder or an official stage-1 / captioner folder); there is no built-in VLV model yet\n${usage}`,
    );
  return m;
}

/** Loads the parts `use` needs, on --device with --dtype. */
export async function loadModel(p: ParsedArgs, use: VlvUse, usage: string): Promise<VlvModel> {
  const folder = modelFolder(p, usage);
  const device = choiceFlag(p, 'device', ['cpu', 'cuda'] as const);
  const dtype = choiceFlag(p, 'dtype', ['f32', 'bf16'] as const);
  return VlvModel.load(folder, { use, ...(device ? { device } : {}), ...(dtype ? { dtype } : {}) });
}

/** --batch-size and --image-size for the pipelines. */
export function pipelineFlags(p: ParsedArgs): { batchSize?: number; imageSize?: number } {
  const batchSize = numberFlag(p, 'batch-size', true);
  const imageSize = numberFlag(p, 'image-size', true);
  return { ...(batchSize !== undefined ? { batchSize } : {}), ...(imageSize !== undefined ? { imageSize } : {}) };
}

/** Progress on stderr as `vlv sample` writes it: `\r<stage> done/total`, a newline when a stage changes or at the end. */
export function stderrProgress(): { onProgress: (p: Progress) => void; end: () => void } {
  let last = '';
  let open = false;
  return {
    onProgress: (p) => {
      if (p.stage !== last && open) process.stderr.write('\n');
      last = p.stage;
      open = true;
      process.stderr.write(`\r${p.stage} ${p.done}/${p.total}`);
    },
    end: () => {
      if (open) process.stderr.write('\n');
      open = false;
      last = '';
    },
  };
}

/** An AbortSignal that Ctrl-C (SIGINT) aborts while `run` runs; a second Ctrl-C leaves at once. */
export async function withInterrupt<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    process.stderr.write('\ninterrupted: stopping\n');
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await run(ac.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
