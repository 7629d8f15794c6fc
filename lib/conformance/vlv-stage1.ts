// vlv_stage1: the official VLV stage-1 model (SDModel) through the engine's "vlv" kind: the
// Florence-2 processor as SDModel calls it, the caption embedding (encode), the diffusion loss
// with its gradients under the official trainable set, and the guided reconstruction.
import { backward } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { Florence2Processor } from '../vision/florence2-processor.js';
import { VlvModel } from '../vlv/model.js';
import { registerComponent } from './registry.js';

/** uint8 values stored as f32 [B, 3, H, W] -> interleaved RGB images. */
export function rgbImages(t: Tensor): { data: Uint8Array; width: number; height: number; channels: 3 }[] {
  const [b, , h, w] = t.shape as [number, number, number, number];
  const v = t.toFloat32();
  return Array.from({ length: b }, (_, n) => {
    const data = new Uint8Array(h * w * 3);
    for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) data[i * 3 + c] = v[(n * 3 + c) * h * w + i]!;
    return { data, width: w, height: h, channels: 3 as const };
  });
}

/** A case's gradient name -> the model's parameter ("grad.encoder.…" names the Florence language model's). */
export function parameterFor(params: Record<string, Tensor>, grad: string, florenceLm: string): Tensor | undefined {
  const name = grad.slice('grad.'.length);
  return params[name] ?? params[florenceLm + name];
}

registerComponent('vlv_stage1', async (folder, options) => {
  const model = await VlvModel.load(folder, { device: options.device ?? 'cpu' });
  const processor = await Florence2Processor.load(model.folder.parts.florence2!);
  const field = (spec: object, key: string, fallback: number) =>
    Number((spec as Record<string, unknown>)[key] ?? fallback);
  const steps = (spec: object) => field(spec, 'num_inference_steps', 50);
  const guidance = (spec: object) => field(spec, 'guidance_scale', 2);
  return {
    runners: {
      'vlv_stage1.preprocess': async (spec, inputs) => {
        const given = (spec as { prompt?: unknown }).prompt;
        const prompt = typeof given === 'string' ? given : '<MORE_DETAILED_CAPTION>';
        const images = rgbImages(inputs.image!);
        const out = await processor.process(
          images.map(() => prompt),
          images,
        );
        return { pixel_values: out.pixelValues, input_ids: out.inputIds };
      },
      'vlv_stage1.embed': async (_spec, inputs) => {
        const r = await model.encode({ pixelValues: inputs.pixel_values, inputIds: inputs.input_ids });
        return {
          encoder_hidden_states: r.encoderHiddenStates,
          decoder_hidden_states: r.decoderHiddenStates,
          z: r.z,
          c: r.c,
        };
      },
      'vlv_stage1.loss': async (spec, inputs) => {
        const trainable = Object.values(model.trainableParameters(1));
        for (const p of trainable) p.requiresGrad = true;
        try {
          // SDModel.forward: image / 255 * 2 - 1 for the VAE.
          const image = Tensor.from(
            inputs.image!.toFloat32().map((x) => (x / 255) * 2 - 1),
            inputs.image!.shape,
          );
          const r = await model.stage1Loss({
            pixelValues: inputs.pixel_values,
            inputIds: inputs.input_ids,
            image,
            posteriorNoise: inputs.posterior_noise,
            timesteps: inputs.timesteps,
            noise: inputs.noise,
          });
          await backward(r.loss);
          const params = model.parameters();
          const out: Record<string, Tensor> = {
            latents: r.latents,
            noisy_latents: r.noisyLatents,
            c: r.c,
            pred_noise: r.predNoise,
            loss: r.loss,
          };
          for (const key of Object.keys(spec.outputs))
            if (key.startsWith('grad.')) {
              const p = parameterFor(params, key, 'model.language_model.model.');
              if (p?.grad) out[key] = p.grad;
            }
          return out;
        } finally {
          for (const p of trainable) {
            p.requiresGrad = false;
            p.zeroGrad();
          }
        }
      },
      'vlv_stage1.reconstruct': async (spec, inputs) => {
        const r = await model.reconstruct(
          {
            z: inputs.z,
            uncondInputIds: inputs.uncond_input_ids,
            initLatents: inputs.init_latents,
            stepNoise: inputs.step_noise,
          },
          { steps: steps(spec), guidance: guidance(spec), trajectory: true },
        );
        return {
          timesteps: r.timesteps,
          c_uncond: r.cUncond!,
          c_cond: r.cCond,
          guided_noise: r.guidedNoise!,
          latents: r.latentsTrajectory!,
          decoded: r.decoded,
          image: r.image,
        };
      },
      'vlv_stage1.reconstruct_from_pixels': async (spec, inputs) => {
        const { z } = await model.encode({
          pixelValues: inputs.pixel_values,
          inputIds: inputs.input_ids,
          queryEmbed: inputs.query_embed,
        });
        const r = await model.reconstruct(
          {
            z,
            uncondInputIds: inputs.uncond_input_ids,
            initLatents: inputs.init_latents,
            stepNoise: inputs.step_noise,
          },
          { steps: steps(spec), guidance: guidance(spec) },
        );
        return { z, decoded: r.decoded, image: r.image };
      },
    },
    dispose: () => model.dispose(),
  };
});
