/** `vlv demo [--steps N]`: trains a tiny MLP on the engine (lib/demo.ts) and prints the loss. */
import { VlvError } from '../errors.js';
import { runDemo } from '../demo.js';

export async function run(args: string[]): Promise<number> {
  const at = args.indexOf('--steps');
  const steps = at >= 0 ? Number(args[at + 1]) : 200;
  if (!Number.isInteger(steps) || steps < 1) throw new VlvError('E_ARG', '--steps takes a positive integer');
  const t0 = performance.now();
  const r = await runDemo({ steps, log: (l) => console.log(l) });
  console.log(
    `loss ${r.firstLoss.toFixed(4)} -> ${r.lastLoss.toFixed(4)} in ${r.steps} steps (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  return r.lastLoss < r.firstLoss ? 0 : 1;
}
