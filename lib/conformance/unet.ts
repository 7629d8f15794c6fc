// unet: diffusers UNet2DConditionModel (cases.json names the component 'unet2d_condition').
import { backward } from '../autograd.js';
import { Model } from '../models/model.js';
import { registerComponent, type ComponentLoader } from './registry.js';

const loadUnet: ComponentLoader = async (folder, options) => {
  const model = await Model.load('unet', folder, { device: options.device ?? 'cpu' });
  return {
    runners: {
      'unet.forward': (_spec, inputs) => model.run('forward', inputs),
      'unet.backward': async (_spec, inputs) => {
        const { grad_output: gradOutput, ...rest } = inputs;
        const sample = rest.sample!.detach();
        const context = rest.encoder_hidden_states!.detach();
        sample.requiresGrad = true;
        context.requiresGrad = true;
        const out = await model.run('forward', { ...rest, sample, encoder_hidden_states: context });
        await backward(out.sample!, gradOutput);
        return { grad_encoder_hidden_states: context.grad!, grad_sample: sample.grad! };
      },
    },
    dispose: () => model.dispose(),
  };
};

registerComponent('unet2d_condition', loadUnet);
registerComponent('unet', loadUnet);
