/**
 * `vlv train stage1|stage2|t2i|vae --data <dataset> --model <folder> --out <run folder> [options]`:
 * the training loops (lib/train/). stage1/stage2 train a VLV folder; t2i a diffusers pipeline
 * (a folder with model_index.json, or its parts: unet=…,vae=…,text_encoder=…,tokenizer=…,scheduler=…);
 * vae a VAE folder (or a pipeline's vae/). Progress on stderr (a bar on a terminal, plain lines
 * otherwise); Ctrl-C or SIGTERM finishes the step under way, saves a checkpoint and exits
 * (status 130 / 143; a second Ctrl-C leaves at once). `--dry-run` prints the trainable and
 * frozen parameter counts, a memory estimate and the first batch's shapes, then exits.
 */
import { VlvError } from '../errors.js';
import { train, type DryRunReport, type TrainKind, type TrainOptions } from '../train/index.js';
import { T2I_PARTS, TRAIN_KINDS, type T2iPart } from '../train/options.js';
import { SCHEDULE_KINDS } from '../train/schedule.js';
import { choiceFlag, numberFlag, parseArgs } from './vlv-common.js';

const USAGE = `usage: vlv train stage1|stage2|t2i|vae --data <images | pairs.jsonl | pairs.csv | shards> --model <folder> --out <run folder>
                 [--steps 1000] [--batch 4] [--accum 1] [--lr L] [--schedule cosine|linear|constant] [--warmup 0]
                 [--weight-decay 0.01] [--no-decay-norms] [--max-grad-norm 1] [--ema] [--ema-decay 0.9999] [--seed 0]
                 [--save-every 500] [--keep 3] [--eval-every N] [--eval-count 4] [--eval-steps 10]
                 [--image-size S] [--max-caption-tokens 300] [--device cpu|cuda] [--workers N]
                 [--progress auto|bar|lines|none] [--log-every 10] [--config run.json] [--resume <checkpoint | run folder>]
                 [--dry-run]
       t2i:  --model <diffusers pipeline folder | unet=D,vae=D,text_encoder=D,tokenizer=D,scheduler=D>
             [--train unet,text_encoder] [--caption-dropout 0.1]
       vae:  --model <VAE folder | pipeline folder> [--vae-loss mse|l1] [--kl-weight 1e-6]`;

const INT_FLAGS: [string, keyof TrainOptions][] = [
  ['steps', 'steps'],
  ['batch', 'batch'],
  ['accum', 'accum'],
  ['warmup', 'warmup'],
  ['seed', 'seed'],
  ['save-every', 'saveEvery'],
  ['keep', 'keep'],
  ['eval-every', 'evalEvery'],
  ['eval-count', 'evalCount'],
  ['eval-steps', 'evalSteps'],
  ['eval-max-new-tokens', 'evalMaxNewTokens'],
  ['log-every', 'logEvery'],
  ['image-size', 'imageSize'],
  ['max-caption-tokens', 'maxCaptionTokens'],
  ['workers', 'workers'],
];
const NUMBER_FLAGS: [string, keyof TrainOptions][] = [
  ['lr', 'lr'],
  ['weight-decay', 'weightDecay'],
  ['max-grad-norm', 'maxGradNorm'],
  ['eps', 'eps'],
  ['caption-dropout', 'captionDropout'],
  ['kl-weight', 'klWeight'],
];
const STRING_FLAGS: [string, keyof TrainOptions][] = [
  ['data', 'data'],
  ['model', 'model'],
  ['out', 'out'],
  ['config', 'config'],
  ['resume', 'resume'],
];

const mb = (bytes: number) =>
  bytes >= 1 << 30 ? `${(bytes / (1 << 30)).toFixed(2)} GiB` : `${(bytes / (1 << 20)).toFixed(1)} MiB`;
const count = (n: number) => n.toLocaleString('en-US');

function printDryRun(d: DryRunReport): void {
  const m = d.memory;
  const s = d.settings;
  const lines = [
    `${d.kind} dry run`,
    `  trainable parameters  ${count(d.trainableParams)}`,
    `  frozen parameters     ${count(d.frozenParams)}`,
    `  memory estimate       ${mb(m.total)}: weights ${mb(m.weights)} + gradients ${mb(m.gradients)} + AdamW moments ${mb(m.optimizer)}${m.ema ? ` + EMA ${mb(m.ema)}` : ''} (activations not included)`,
    `  first batch           ${Object.entries(d.batchShapes)
      .map(([k, v]) => `${k} [${v.join(', ')}]`)
      .join(', ')}`,
    `  settings              ${s.steps} steps x ${s.batch} samples x ${s.accum} micro-batches; AdamW lr ${s.lr} betas (${s.betas.join(', ')}) eps ${s.eps} weight decay ${s.weightDecay}${s.noDecayNormsAndBiases ? ' (not on norms and biases)' : ''}; ${s.schedule} schedule, warmup ${s.warmup}; clip ${s.maxGradNorm}; seed ${s.seed}${s.emaDecay ? `; EMA ${s.emaDecay}` : ''}`,
  ];
  console.log(lines.join('\n'));
}

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(
    args,
    {
      values: [
        ...INT_FLAGS.map(([f]) => f),
        ...NUMBER_FLAGS.map(([f]) => f),
        ...STRING_FLAGS.map(([f]) => f),
        'schedule',
        'ema-decay',
        'device',
        'progress',
        'train',
        'vae-loss',
      ],
      switches: ['dry-run', 'ema', 'no-decay-norms'],
    },
    USAGE,
  );
  const [kind, ...rest] = p.positional;
  if (!kind || !(TRAIN_KINDS as readonly string[]).includes(kind))
    throw new VlvError('E_ARG', `name what to train: ${TRAIN_KINDS.join(' | ')}\n${USAGE}`);
  if (rest.length > 0) throw new VlvError('E_ARG', `unexpected argument '${rest[0]}'\n${USAGE}`);
  const o: TrainOptions = {};
  const set = (key: keyof TrainOptions, v: unknown) => ((o as Record<string, unknown>)[key] = v);
  for (const [flag, key] of INT_FLAGS) {
    const v = numberFlag(p, flag, true);
    if (v !== undefined) set(key, v);
  }
  for (const [flag, key] of NUMBER_FLAGS) {
    const v = numberFlag(p, flag);
    if (v !== undefined) set(key, v);
  }
  for (const [flag, key] of STRING_FLAGS) {
    const v = p.values.get(flag);
    if (v !== undefined) set(key, v);
  }
  const schedule = choiceFlag(p, 'schedule', SCHEDULE_KINDS);
  if (schedule) o.schedule = schedule;
  const device = choiceFlag(p, 'device', ['cpu', 'cuda'] as const);
  if (device) o.device = device;
  o.progress = choiceFlag(p, 'progress', ['auto', 'bar', 'lines', 'none'] as const) ?? 'auto';
  const emaDecay = numberFlag(p, 'ema-decay');
  if (emaDecay !== undefined) o.ema = emaDecay;
  else if (p.switches.has('ema')) o.ema = true;
  if (p.switches.has('no-decay-norms')) o.noDecayNormsAndBiases = true;
  const parts = p.values.get('train');
  if (parts !== undefined) {
    const list = parts.split(',').map((x) => x.trim());
    for (const x of list)
      if (!(T2I_PARTS as readonly string[]).includes(x))
        throw new VlvError('E_ARG', `--train takes ${T2I_PARTS.join(', ')} (comma-separated), got '${x}'`);
    o.trainParts = list as T2iPart[];
  }
  const vaeLoss = choiceFlag(p, 'vae-loss', ['mse', 'l1'] as const);
  if (vaeLoss) o.vaeLoss = vaeLoss;
  if (o.data === undefined && !p.switches.has('dry-run') && o.resume === undefined && o.config === undefined)
    throw new VlvError('E_ARG', `--data is required\n${USAGE}`);

  if (p.switches.has('dry-run')) {
    printDryRun(await train(kind as TrainKind, { ...o, dryRun: true }));
    return 0;
  }

  const ac = new AbortController();
  let by: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(sig === 'SIGTERM' ? 143 : 130);
    by = sig;
    process.stderr.write(`\n${sig}: finishing the current step, then saving a checkpoint (again to quit at once)\n`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const r = await train(kind as TrainKind, o, { signal: ac.signal });
    const where = `checkpoint ${r.checkpoint ?? '(none)'}; metrics ${r.runDir}/metrics.jsonl; loss plot ${r.runDir}/loss.png`;
    if (r.stopped === 'aborted') {
      console.log(`stopped at step ${r.step}/${r.totalSteps}: ${where}`);
      console.log(`continue with: vlv train ${kind} --resume ${r.checkpoint ?? r.runDir} --data ...`);
      return by === 'SIGTERM' ? 143 : 130;
    }
    console.log(`done: ${r.step} steps; ${where}`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
