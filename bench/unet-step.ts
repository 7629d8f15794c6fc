/**
 * One process per measurement (spawned by bench/unet.bench.ts), so that its peak RSS (VmHWM)
 * is the UNet's alone: builds a UNet from a config with random weights, then times
 * forward + backward-to-context (parameters frozen, so no parameter gradients) and prints one
 * JSON line. argv[2]: {"config", "batch", "latent", "contextLen", "reps"}.
 */
import { backward, noGrad, ops, UNet2DConditionModel } from '../lib/index.js';
import { gib, statusKiB } from './lib.js';

interface Request {
  config: string;
  batch: number;
  latent: number;
  contextLen: number;
  reps: number;
}

const req = JSON.parse(process.argv[2]!) as Request;
const t0 = performance.now();
const unet = await UNet2DConditionModel.random(req.config, 0);
const buildS = (performance.now() - t0) / 1000;
const params = Object.values(unet.parameters()).reduce((n, p) => n + p.numel, 0);
const rssWeights = statusKiB('VmRSS');

const sample = await noGrad(() => ops.randn([req.batch, unet.config.in_channels, req.latent, req.latent], 1));
const times: number[] = [];
let gradNorm = 0;
for (let i = 0; i < req.reps; i++) {
  const context = await noGrad(() => ops.randn([req.batch, req.contextLen, unet.crossAttentionDim], 2 + i));
  context.requiresGrad = true;
  const s = performance.now();
  const out = await unet.forward({ sample, timestep: 500, encoderHiddenStates: context });
  await backward(out.sample, await noGrad(() => ops.randn(out.sample.shape, 99)));
  times.push((performance.now() - s) / 1000);
  const g = context.grad!.toArray() as Float32Array;
  gradNorm = Math.sqrt(g.reduce((a, v) => a + v * v, 0));
  out.sample.dispose();
  context.dispose();
}
times.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    params,
    buildS,
    stepS: times[Math.floor(times.length / 2)],
    times,
    weightsGiB: gib(rssWeights),
    peakGiB: gib(statusKiB('VmHWM')),
    gradNorm,
  }),
);
