/**
 * A guided sampling loop on the GPU with and without CUDA graphs, in one run: the UNet call of
 * every step after the first replayed from a graph (sample(), cudaGraphs true) against the same
 * loop launching every kernel (cudaGraphs false); the latents must agree bit for bit. Cases:
 * the golden tiny UNet (../shared/golden/unet: launch bound, where graphs matter most) and the
 * SD 2.1 UNet layout with random weights (bench/configs/sd21-unet.json) at 64x64 latents, batch
 * 1 (2 with guidance), with the golden tiny VAE decoding. Time per step = wall time of the
 * sample / steps (the decode included). Ratio = eager ms / graph ms (> 1: graphs faster).
 * Not yet run on a GPU.
 */
import { join } from 'node:path';
import {
  info,
  loadScheduler,
  loadUNet,
  loadVae,
  randomUNet,
  sample,
  Tensor,
  type SampleOptions,
} from '../lib/index.js';
import type { LoadedUNet } from '../lib/diffusion/pipeline.js';
import { unetContextDim } from '../lib/diffusion/configs.js';
import { row, type BenchContext, type BenchRow } from './lib.js';
import { goldenPath } from '../test/helpers/golden.js';

const golden = goldenPath();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const bits = (t: Tensor) => Buffer.from((t.toArray() as Float32Array).buffer).toString('base64');

async function timeLoop(
  opts: SampleOptions,
  reps: number,
): Promise<{ ms: number; latents: string; replays: number; note: string }> {
  let last = await sample(opts); // warm-up: allocator cache, GEMM library state
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    last = await sample(opts);
    times.push((performance.now() - t0) / (opts.steps ?? 20));
  }
  return { ms: median(times), latents: bits(last.latents), replays: last.graphReplays, note: last.graphNote };
}

async function unetCase(
  name: string,
  unet: LoadedUNet,
  latent: number,
  ctxLen: number,
  steps: number,
  reps: number,
): Promise<BenchRow[]> {
  const [vae, scheduler] = await Promise.all([
    loadVae(join(golden, 'vae'), { device: 'cuda' }),
    loadScheduler(join(golden, 'schedulers', 'ddim-epsilon')),
  ]);
  const dim = unetContextDim(unet.config);
  const n = ctxLen * dim;
  const context = Tensor.from(
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)),
    [1, ctxLen, dim],
  );
  const opts: SampleOptions = {
    unet,
    vae,
    scheduler,
    context,
    uncondContext: Tensor.zeros([1, ctxLen, dim]),
    steps,
    seed: 1,
    height: latent * 2,
    width: latent * 2,
  };
  const graph = await timeLoop({ ...opts, cudaGraphs: true }, reps);
  const eager = await timeLoop({ ...opts, cudaGraphs: false }, reps);
  const same = graph.latents === eager.latents ? 'same bits' : 'LATENTS DIFFER';
  const note = `${same}; ${graph.replays}/${steps} steps replayed${graph.note ? `; ${graph.note}` : ''}`;
  return [
    row(
      'sample step gpu (graph)',
      `${name} ${latent}x${latent}`,
      graph.ms,
      'ms',
      'eager launches',
      eager.ms,
      false,
      note,
    ),
  ];
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const i = info();
  if (!i.cuda.available) return [row('sample gpu', '-', 0, 'ms', null, null, false, `CUDA off: ${i.cuda.reason}`)];
  const rows: BenchRow[] = [];
  const tiny = await loadUNet(join(golden, 'unet'), { device: 'cuda' });
  rows.push(...(await unetCase('golden tiny UNet', tiny, 8, 7, 20, ctx.quick ? 1 : 5)));
  if (!ctx.quick) {
    const sd = await randomUNet(join(import.meta.dirname, 'configs', 'sd21-unet.json'), 0, { device: 'cuda' });
    rows.push(...(await unetCase('SD 2.1 UNet (random)', sd, 64, 77, 10, 3)));
  }
  return rows;
}
