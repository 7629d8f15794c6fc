// unet: diffusers UNet2DConditionModel (cases.json names the component 'unet2d_condition').
import { backward } from '../autograd.js';
import { UNet2DConditionModel } from '../models/unet2d-condition.js';
import type { Tensor } from '../tensor.js';
import { registerComponent, type ComponentLoader } from './registry.js';

/** A case's tensors as UNet2DConditionModel.forward inputs. */
function forwardInputs(inputs: Record<string, Tensor>) {
  return {
    sample: inputs.sample!,
    timestep: inputs.timestep!,
    encoderHiddenStates: inputs.encoder_hidden_states!,
    encoderAttentionMask: inputs.encoder_attention_mask,
  };
}

const loadUnet: ComponentLoader = async (folder, options) => {
  const model = await UNet2DConditionModel.load(folder, { device: options.device ?? 'cpu' });
  return {
    runners: {
      'unet.forward': async (_spec, inputs) => ({ ...(await model.forward(forwardInputs(inputs))) }),
      'unet.backward': async (_spec, inputs) => {
        const sample = inputs.sample!.detach();
        const context = inputs.encoder_hidden_states!.detach();
        sample.requiresGrad = true;
        context.requiresGrad = true;
        const out = await model.forward({ ...forwardInputs(inputs), sample, encoderHiddenStates: context });
        await backward(out.sample, inputs.grad_output);
        return { grad_encoder_hidden_states: context.grad!, grad_sample: sample.grad! };
      },
    },
    dispose: () => model.dispose(),
  };
};

registerComponent('unet2d_condition', loadUnet);
registerComponent('unet', loadUnet);
