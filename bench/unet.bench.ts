/**
 * A real-size Stable Diffusion 2.1 UNet (bench/configs/sd21-unet.json: the public
 * unet/config.json values) built with random weights from its config alone, forward +
 * backward to the context (stage 1 trains THROUGH the frozen UNet) at 64x64 latents, batch 2,
 * 77 context tokens, on CPU: seconds per step and the peak resident memory. Each measurement
 * runs in its own process (bench/unet-step.ts) so VmHWM is the UNet's alone — it still counts
 * the whole process: Node, the addon, the weights (865M f32 = 3.2 GiB) and every activation.
 * Measured (2-core dev box shared with other jobs, 2 steps): 96.6 s/step, peak 7.78 GiB
 * (3.37 GiB after building), 865.9M parameters, built in 40 s.
 * --quick: a toy config of the same layout at 16x16.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { row, type BenchContext, type BenchRow } from './lib.js';

interface StepResult {
  params: number;
  buildS: number;
  stepS: number;
  weightsGiB: number;
  peakGiB: number;
  gradNorm: number;
}

export function run(ctx: BenchContext): BenchRow[] {
  const config = join(import.meta.dirname, 'configs', ctx.quick ? 'tiny-unet.json' : 'sd21-unet.json');
  const req = { config, batch: 2, latent: ctx.quick ? 16 : 64, contextLen: 77, reps: ctx.quick ? 1 : 2 };
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'unet-step.ts'), JSON.stringify(req)],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const r = JSON.parse(out.trim().split('\n').pop()!) as StepResult;
  if (!Number.isFinite(r.gradNorm) || r.gradNorm === 0)
    throw new Error(`unet bench: bad context gradient (norm ${r.gradNorm})`);
  const name = ctx.quick ? 'unet tiny' : 'unet sd2.1';
  const shape = `${req.batch}x4x${req.latent}x${req.latent}`;
  const params = `${(r.params / 1e6).toFixed(1)}M params`;
  return [
    row(
      name + ' fwd+bwd(ctx)',
      shape,
      r.stepS,
      's/step',
      null,
      null,
      false,
      `${params}; built in ${r.buildS.toFixed(1)} s`,
    ),
    row(
      name + ' peak',
      shape,
      r.peakGiB,
      'GiB',
      null,
      null,
      false,
      `VmHWM of the whole process; ${r.weightsGiB.toFixed(2)} GiB after building`,
    ),
  ];
}
