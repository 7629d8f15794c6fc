/**
 * `vlv <command>`: the command-line face of the package. Errors print their code and
 * message and exit with status 2; nothing ends in a stack dump or a signal.
 */
import { VlvError } from './errors.js';

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, { help: string; run: Command }> = {
  info: {
    help: 'build, backend, SIMD level, threads, CUDA status (and why it is off)',
    run: async (args) => {
      const { info } = await import('./info.js');
      const i = info();
      if (args.includes('--json')) {
        console.log(JSON.stringify(i, null, 2));
        return 0;
      }
      console.log(`vlv ${i.version} (${i.flavour} flavour, ${i.buildSystem} build)`);
      console.log(`addon:    ${i.addon}`);
      console.log(`backend:  ${i.backend}`);
      console.log(`simd:     ${i.simd}${i.avx512bf16 ? ' (+avx512bf16)' : ''}`);
      console.log(`threads:  ${i.threads}`);
      if (i.cuda.available) {
        for (const d of i.cuda.devices ?? [])
          console.log(`cuda:     ${d.name} (sm_${d.computeCapability.replace('.', '')}, ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB)`);
      } else {
        console.log(`cuda:     off — ${i.cuda.reason}`);
      }
      return 0;
    },
  },
  demo: {
    help: 'train a tiny MLP with the engine (autograd + AdamW) and print the loss [--steps N]',
    run: async (args) => {
      const { runDemo } = await import('./demo.js');
      const at = args.indexOf('--steps');
      const steps = at >= 0 ? Number(args[at + 1]) : 200;
      if (!Number.isInteger(steps) || steps < 1) throw new VlvError('E_ARG', '--steps takes a positive integer');
      const t0 = performance.now();
      const r = await runDemo({ steps, log: (l) => console.log(l) });
      console.log(
        `loss ${r.firstLoss.toFixed(4)} -> ${r.lastLoss.toFixed(4)} in ${r.steps} steps (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
      return r.lastLoss < r.firstLoss ? 0 : 1;
    },
  },
};

/** Registers a subcommand (used by the modules that own them). */
export function registerCommand(name: string, help: string, run: Command): void {
  commands[name] = { help, run };
}

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(14)}${c.help}`);
  return ['usage: vlv <command> [args]', '', 'commands:', ...rows].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  // `vlv inspect big.safetensors | head`: a closed pipe ends the listing quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  await import('./cli-commands.js');
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`vlv: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    const err = VlvError.from(e);
    console.error(`vlv ${name}: ${err.code}: ${err.message}`);
    return 2;
  }
}
