/**
 * `vlv sample`: a guided sample from component folders (--unet --vae --scheduler, context
 * random or from a safetensors file) or from a diffusers pipeline folder with a prompt.
 */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { VlvError } from '../errors.js';
import { tensorToJpeg, tensorToPng } from '../image.js';
import { loadSafetensors } from '../safetensors.js';
import { randn } from '../ops.js';
import { Tensor } from '../tensor.js';
import { unetContextDim } from '../diffusion/configs.js';
import { loadPipeline, loadScheduler, loadUNet, loadVae, type DiffusionPipeline } from '../diffusion/pipeline.js';
import { sample, textToImage, type SampleResult } from '../diffusion/sample.js';

const USAGE = `usage: vlv sample (--pipeline <dir> --prompt <text> [--negative <text>] [--penultimate]
                   | --unet <dir> --vae <dir> --scheduler <dir> [--context <file.safetensors>])
                  [--steps 20] [--guidance 7.5] [--seed 1] [--height H --width W] [--eta 0] [--out out.png|.jpg]`;

const FLAGS = new Set([
  'pipeline',
  'prompt',
  'negative',
  'unet',
  'vae',
  'scheduler',
  'context',
  'steps',
  'guidance',
  'seed',
  'height',
  'width',
  'eta',
  'out',
]);

function parse(args: string[]): { opts: Map<string, string>; switches: Set<string> } {
  const opts = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--penultimate') {
      switches.add('penultimate');
      continue;
    }
    const name = a.startsWith('--') ? a.slice(2) : '';
    if (!FLAGS.has(name)) throw new VlvError('E_ARG', `unknown argument '${a}'\n${USAGE}`);
    const v = args[++i];
    if (v === undefined) throw new VlvError('E_ARG', `${a} needs a value`);
    opts.set(name, v);
  }
  return { opts, switches };
}

function num(opts: Map<string, string>, name: string): number | undefined {
  const v = opts.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new VlvError('E_ARG', `--${name} takes a number, got '${v}'`);
  return n;
}

/** Context [1, L, D]: the file's "context" tensor, or seeded N(0,1) values with L = 77. */
async function readContext(
  file: string | undefined,
  dim: number,
  seed: number,
): Promise<{ context: Tensor; uncond: Tensor }> {
  if (file) {
    const loaded = await loadSafetensors(file);
    const context = loaded.tensors.context;
    if (!context) throw new VlvError('E_ARG', `${file}: no tensor named "context"`);
    const uncond = loaded.tensors.uncond_context ?? Tensor.zeros([1, ...context.shape.slice(1)]);
    return { context, uncond };
  }
  const context = await randn([1, 77, dim], seed + 1);
  return { context, uncond: Tensor.zeros([1, 77, dim]) };
}

export async function run(args: string[]): Promise<number> {
  const { opts, switches } = parse(args);
  const out = opts.get('out') ?? 'out.png';
  const common = {
    steps: num(opts, 'steps') ?? 20,
    guidanceScale: num(opts, 'guidance') ?? 7.5,
    seed: num(opts, 'seed') ?? 1,
    height: num(opts, 'height'),
    width: num(opts, 'width'),
    eta: num(opts, 'eta'),
    onProgress: (p: { done: number; total: number }) => process.stderr.write(`\rdenoise ${p.done}/${p.total}`),
  };
  let result: SampleResult;
  let pipe: DiffusionPipeline | undefined;
  try {
    if (opts.has('pipeline')) {
      pipe = await loadPipeline(opts.get('pipeline')!);
      const prompt = opts.get('prompt');
      if (prompt === undefined || !pipe.textEncoder || !pipe.tokenizer)
        throw new VlvError(
          'E_ARG',
          `--pipeline needs --prompt and a pipeline with text_encoder and tokenizer\n${USAGE}`,
        );
      result = await textToImage({
        ...pipe,
        textEncoder: pipe.textEncoder,
        tokenizer: pipe.tokenizer,
        ...common,
        prompt,
        negativePrompt: opts.get('negative'),
        contextLayer: switches.has('penultimate') ? 'penultimate' : 'last',
      });
    } else {
      for (const k of ['unet', 'vae', 'scheduler'])
        if (!opts.has(k)) throw new VlvError('E_ARG', `missing --${k}\n${USAGE}`);
      const [unet, vae, scheduler] = await Promise.all([
        loadUNet(opts.get('unet')!),
        loadVae(opts.get('vae')!),
        loadScheduler(opts.get('scheduler')!),
      ]);
      pipe = { unet, vae, scheduler, dispose: () => [unet, vae, scheduler].forEach((c) => c.model.dispose()) };
      const { context, uncond } = await readContext(opts.get('context'), unetContextDim(unet.config), common.seed);
      result = await sample({ unet, vae, scheduler, context, uncondContext: uncond, ...common });
    }
  } finally {
    pipe?.dispose();
  }
  process.stderr.write('\n');
  const ext = extname(out).toLowerCase();
  const bytes =
    ext === '.jpg' || ext === '.jpeg' ? await tensorToJpeg(result.images) : await tensorToPng(result.images);
  await writeFile(out, bytes);
  const [, , h, w] = result.images.shape;
  console.log(`${out}: ${w}x${h}`);
  return 0;
}
