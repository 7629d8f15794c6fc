/**
 * Guided sampling on CUDA (npm run test:gpu): the golden tiny UNet / VAE / schedulers of
 * ../shared/golden, 20 guided steps on the GPU against the same sample on the CPU (bf16
 * tolerance, as issue 6 asks), the CUDA-graph replay against the eager loop (the same bits:
 * every kernel is deterministic), and a sample at another latent size capturing its own graph.
 */
import test from 'ava';
import { join } from 'node:path';
import { info, loadScheduler, loadUNet, loadVae, sample, Tensor } from '../lib/index.js';
import { diff, values } from '../test/helpers/compare.js';
import { BF16_TOL } from './helpers.js';
import { goldenPath } from '../test/helpers/golden.js';

const golden = goldenPath();
const g = (...p: string[]) => join(golden, ...p);

function context(batch: number, len: number, dim: number): Tensor {
  return Tensor.from(
    Float32Array.from({ length: batch * len * dim }, (_, i) => Math.sin(0.37 * i)),
    [batch, len, dim],
  );
}

async function models(device: 'cpu' | 'cuda', scheduler: string) {
  const [unet, vae, sched] = await Promise.all([
    loadUNet(g('unet'), { device }),
    loadVae(g('vae'), { device }),
    loadScheduler(g('schedulers', scheduler)),
  ]);
  return { unet, vae, scheduler: sched };
}

const bits = (t: Tensor) => Buffer.from((t.toArray() as Float32Array).buffer).toString('base64');

if (!info().cuda.available) {
  test('CUDA is available', (t) => t.fail(`no usable GPU: ${info().cuda.reason}`));
} else {
  for (const scheduler of ['ddim-epsilon', 'euler-v_prediction', 'dpmpp2m-epsilon', 'ddpm-epsilon']) {
    test.serial(
      `20 guided steps (${scheduler}) on CUDA match the CPU; the CUDA graph replays steps 2..20`,
      async (t) => {
        const opts = {
          context: context(2, 7, 64),
          uncondContext: Tensor.zeros([1, 7, 64]),
          guidanceScale: 7.5,
          steps: 20,
          seed: 5,
        };
        const cpu = await sample({ ...(await models('cpu', scheduler)), ...opts });
        const gpu = await sample({ ...(await models('cuda', scheduler)), ...opts });
        t.is(gpu.graphNote, '', gpu.graphNote);
        t.is(gpu.graphReplays, 19);
        t.is(cpu.graphReplays, 0);
        for (const k of ['latents', 'images'] as const) {
          const d = diff(values(gpu[k]), values(cpu[k]));
          t.log(`${k}: rel ${d.rel.toExponential(2)}`);
          t.true(d.nonFinite === 0 && d.rel <= BF16_TOL, `${k}: rel ${d.rel}`);
        }
      },
    );
  }

  test.serial(
    'the CUDA graph replay gives the bits of the eager loop; a sample at another latent size captures its own graph',
    async (t) => {
      const m = await models('cuda', 'ddim-epsilon');
      const opts = { ...m, context: context(1, 7, 64), uncondContext: Tensor.zeros([1, 7, 64]), steps: 6, seed: 2 };
      const graphed = await sample(opts);
      const eager = await sample({ ...opts, cudaGraphs: false });
      t.is(graphed.graphReplays, 5);
      t.is(eager.graphReplays, 0);
      t.is(bits(graphed.latents), bits(eager.latents));
      const wider = await sample({ ...opts, width: 24 });
      t.is(wider.graphReplays, 5, wider.graphNote);
      t.deepEqual(wider.latents.shape, [1, 4, 8, 12]);
    },
  );
}
