// clip_text: transformers CLIPTextModel (+ VLV's inputs_embeds path).
import { backward } from '../autograd.js';
import { Model } from '../models/model.js';
import { registerComponent } from './registry.js';

registerComponent('clip_text', async (folder, options) => {
  const model = await Model.load('clip_text', folder, { device: options.device ?? 'cpu' });
  return {
    runners: {
      'clip_text.forward': (_spec, inputs) => model.run('forward', inputs),
      'clip_text.backward': async (_spec, inputs) => {
        const x = inputs.inputs_embeds!.detach();
        x.requiresGrad = true;
        const out = await model.run('forward', { inputs_embeds: x });
        await backward(out.last_hidden_state!, inputs.grad_output);
        return { grad_inputs_embeds: x.grad! };
      },
    },
    dispose: () => model.dispose(),
  };
});
