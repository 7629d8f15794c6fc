/**
 * `vlv world generate|sample`: the generated world of issue 14 as datasets (lib/world/).
 * `generate` writes scenes 0 … n-1 of a split for a seed; `sample` writes the fixed sample
 * scenes. Both write `<out>/images/*.png` and `<out>/captions.jsonl` (a pairs file every
 * training command reads), progress on stderr, a summary on stdout; Ctrl-C stops between images
 * (nothing is listed until every image is written).
 */
import { VlvError } from '../errors.js';
import { worldCaption } from '../world/caption.js';
import { WORLD_SPLITS } from '../world/splits.js';
import { writeWorld, writeWorldSamples } from '../world/write.js';
import { choiceFlag, numberFlag, parseArgs, stderrProgress, withInterrupt } from './vlv-common.js';

const USAGE = `usage: vlv world generate --out <dir> [--n 1000] [--split train|scenes|combos] [--seed 0] [--exclude-train N]
       vlv world sample --out <dir>`;

function outFlag(values: Map<string, string>): string {
  const out = values.get('out');
  if (out === undefined || out === '') throw new VlvError('E_ARG', `missing --out <dir>\n${USAGE}`);
  return out;
}

async function generate(args: string[]): Promise<number> {
  const p = parseArgs(args, { values: ['out', 'n', 'split', 'seed', 'exclude-train'] }, USAGE);
  if (p.positional.length) throw new VlvError('E_ARG', `unexpected argument '${p.positional[0]!}'\n${USAGE}`);
  const out = outFlag(p.values);
  const n = numberFlag(p, 'n', true) ?? 1000;
  if (n < 1) throw new VlvError('E_ARG', `--n takes a positive integer, got ${n}`);
  const split = choiceFlag(p, 'split', WORLD_SPLITS) ?? 'train';
  const seed = numberFlag(p, 'seed', true) ?? 0;
  const excludeTrain = numberFlag(p, 'exclude-train', true);
  const progress = stderrProgress();
  const written = await withInterrupt((signal) =>
    writeWorld({
      out,
      n,
      split,
      seed,
      ...(excludeTrain !== undefined ? { excludeTrain } : {}),
      signal,
      onProgress: progress.onProgress,
    }),
  ).finally(progress.end);
  console.log(`${written.captions}: ${n} scenes (split ${split}, seed ${seed})`);
  return 0;
}

async function sample(args: string[]): Promise<number> {
  const p = parseArgs(args, { values: ['out'] }, USAGE);
  if (p.positional.length) throw new VlvError('E_ARG', `unexpected argument '${p.positional[0]!}'\n${USAGE}`);
  const out = outFlag(p.values);
  const written = await writeWorldSamples(out);
  written.scenes.forEach((scene, i) => console.log(`images/${String(i).padStart(5, '0')}.png  ${worldCaption(scene)}`));
  console.log(`${written.captions}: ${written.scenes.length} sample scenes`);
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'generate') return generate(rest);
  if (sub === 'sample') return sample(rest);
  throw new VlvError('E_ARG', USAGE);
}
