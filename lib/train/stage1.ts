/**
 * Stage 1 (the official SDModel training): images only. The encoder side (Florence-2's
 * encoder and the query decoder, the queries, language_proj) learns to make caption
 * embeddings from which the FROZEN UNet denoises the image's own VAE latents; the loss is the
 * model's stage1Loss (MSE against the noise, or the velocity, per the scheduler config), with
 * fresh posterior noise, timesteps and noise per sample from the micro-batch's seed.
 */
import type { Batch } from '../data/types.js';
import { VlvError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { VlvModel } from '../vlv/model.js';
import { evaluateStage1 } from './evaluate.js';
import { vlvStageSpec, type StageRunner, type StageSpec } from './loop.js';
import type { RunSettings } from './options.js';
import { promptIds } from './prompt.js';

async function prepare(model: VlvModel, s: RunSettings, device: 'cpu' | 'cuda'): Promise<StageRunner> {
  const prompt = await promptIds(model, s.imageSize);
  const inputsOf = async (batch: Batch) => {
    if (!batch.pixelValues) throw new VlvError('E_ARG', 'stage 1 batches need pixelValues (the vlv transform)');
    const b = batch.image.shape[0]!;
    const ids = prompt(b);
    const moved = await Promise.all([batch.pixelValues.to(device), ids.to(device), batch.image.to(device)]);
    return { pixelValues: moved[0], inputIds: moved[1], image: moved[2], temps: [ids, ...moved] };
  };
  return {
    async loss(batch, seed) {
      const { temps, ...inputs } = await inputsOf(batch);
      const r = await model.stage1Loss(inputs, { seed });
      const own = temps.filter((t) => t !== batch.image && t !== batch.pixelValues);
      const outs: Tensor[] = [r.latents, r.noisyLatents, r.c, r.predNoise, r.target, r.timesteps];
      return { loss: r.loss, temps: [...new Set([...own, ...outs, r.loss])] };
    },
    shapes(batch) {
      const b = batch.image.shape[0]!;
      const ids = prompt(b);
      const out = { pixelValues: batch.pixelValues?.shape ?? [], inputIds: ids.shape, image: batch.image.shape };
      ids.dispose();
      return out;
    },
    async evaluate(ctx) {
      const path = await evaluateStage1(model, ctx.set, ctx.runDir, ctx.step, {
        steps: ctx.hk.evalSteps,
        imageSize: ctx.imageSize,
        seed: ctx.seed,
      });
      return { path, line: `reconstructions ${path}` };
    },
    dispose() {},
  };
}

export const STAGE1: StageSpec = vlvStageSpec('stage1', 1, 'stage1', prepare);
