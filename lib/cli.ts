/**
 * `vlv <command>`: the command-line face of the package. Errors print their code and
 * message and exit with status 2; nothing ends in a stack dump or a signal.
 *
 * Every command is one row of COMMANDS: its name, its help line, and a lazy import of the
 * module under lib/commands/ that runs it (so `vlv info` never loads the diffusion code, and
 * no command module imports this file back).
 */
import { VlvError } from './errors.js';

/** What a command module exports: run the command on its arguments, return the exit status. */
export interface CommandModule {
  run(args: string[]): number | Promise<number>;
}

interface CommandEntry {
  name: string;
  help: string;
  load: () => Promise<CommandModule>;
}

const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'info',
    help: 'build, backend, SIMD level, threads, CUDA status (and why it is off)',
    load: () => import('./commands/info.js'),
  },
  {
    name: 'demo',
    help: 'train a tiny MLP with the engine (autograd + AdamW) and print the loss [--steps N]',
    load: () => import('./commands/demo.js'),
  },
  {
    name: 'inspect',
    help: 'tensors (name, dtype, shape), totals and config.json of a safetensors or torch.save checkpoint',
    load: () => import('./commands/inspect.js'),
  },
  {
    name: 'convert',
    help: 'a PyTorch checkpoint (.pt/.bin/.pth/.ckpt, read weights-only) to a VLV folder: safetensors + configs + vlv.json',
    load: () => import('./commands/convert.js'),
  },
  {
    name: 'conformance',
    help: 'check a reference folder (golden format) [--device cpu|cuda]: one JSON line per case',
    load: () => import('./commands/conformance.js'),
  },
  {
    name: 'sample',
    help: 'guided diffusion sample to a PNG/JPEG (--pipeline + --prompt, or --unet/--vae/--scheduler)',
    load: () => import('./commands/sample.js'),
  },
  {
    name: 'embed',
    help: 'VLV caption embeddings z and c of images to a safetensors file (--model <VLV folder> --out f)',
    load: () => import('./commands/embed.js'),
  },
  {
    name: 'caption',
    help: 'VLV captions of images (--model <VLV folder> [--json] [--beams 4] [--max-new-tokens 300] [--stream])',
    load: () => import('./commands/caption.js'),
  },
  {
    name: 'reconstruct',
    help: 'VLV image round trip, or images from an embedding file (--model <VLV folder> --out rec.png [--side-by-side])',
    load: () => import('./commands/reconstruct.js'),
  },
  {
    name: 'train',
    help: 'train VLV stage1|stage2 (--data <dataset> --model <VLV folder> --out <run>; --resume, --dry-run)',
    load: () => import('./commands/train.js'),
  },
  {
    name: 'world',
    help: 'the generated world: generate --out <dir> [--n 1000] [--split train|scenes|combos] [--seed S], or sample --out <dir>',
    load: () => import('./commands/world.js'),
  },
];

function usage(): string {
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(14)}${c.help}`);
  return ['usage: vlv <command> [args]', '', 'commands:', ...rows].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  // `vlv inspect big.safetensors | head`: a closed pipe ends the listing quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    console.error(`vlv: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  try {
    const command = await entry.load();
    return await command.run(rest);
  } catch (e) {
    const err = VlvError.from(e);
    console.error(`vlv ${name}: ${err.code}: ${err.message}`);
    return 2;
  }
}
