/**
 * Child process of test/train/resume.test.ts: a stage-1 run on the golden tiny VLV and an image
 * folder (lib/data's loader: decoding workers, prefetch), printing one JSON line per step
 * ({"step", "loss"}) so the parent can kill it at a chosen point.
 * argv: <run folder> <steps> <saveEvery> <keep> <resume: 0|1> <image folder>
 */
import { train } from '../../lib/train/index.js';
import { goldenPath } from './golden.js';

const [runDir, steps, saveEvery, keep, resume, images] = process.argv.slice(2);
const r = await train(
  'stage1',
  {
    model: goldenPath('vlv_stage1'),
    out: runDir!,
    data: images!,
    steps: Number(steps),
    batch: 2,
    lr: 1e-3,
    saveEvery: Number(saveEvery),
    keep: Number(keep),
    evalEvery: 0,
    ema: 0.99,
    ...(resume === '1' ? { resume: runDir! } : {}),
  },
  {
    onProgress: (p) => {
      if (p.stage === 'train') process.stdout.write(`${JSON.stringify({ step: p.done, loss: p.loss })}\n`);
    },
  },
);
process.stdout.write(`${JSON.stringify({ done: r.step })}\n`);
