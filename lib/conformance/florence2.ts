// florence2: Florence-2 remote code (Florence2ForConditionalGeneration) as VLV uses it: the
// vision tower, image features, prompt merge, BART encoder and the learnable-query decoder.
import { backward } from '../autograd.js';
import { Model } from '../models/model.js';
import type { Tensor } from '../tensor.js';
import { registerComponent } from './registry.js';

registerComponent('florence2', async (folder, options) => {
  const model = await Model.load('florence2', folder, { device: options.device ?? 'cpu' });
  const decode = (queries: Tensor, inputs: Record<string, Tensor>) =>
    model.run('query_decoder', {
      inputs_embeds: queries,
      attention_mask: inputs.attention_mask,
      encoder_hidden_states: inputs.encoder_hidden_states,
      encoder_attention_mask: inputs.encoder_attention_mask,
    });
  return {
    runners: {
      'florence2.vision_tower': (_spec, inputs) => model.run('vision_tower', inputs),
      'florence2.image_features': (_spec, inputs) => model.run('image_features', inputs),
      'florence2.merge': (_spec, inputs) => model.run('merge', inputs),
      'florence2.encoder': (_spec, inputs) => model.run('encoder', inputs),
      'florence2.query_decoder': (_spec, inputs) => decode(inputs.queries!, inputs),
      // image_features -> merge -> encoder -> query_decoder; gradients of
      // sum(last_hidden_state * grad_output) w.r.t. the queries and the pixels.
      'florence2.query_decoder_backward': async (_spec, inputs) => {
        const pixels = inputs.pixel_values!.detach();
        const queries = inputs.queries!.detach();
        pixels.requiresGrad = true;
        queries.requiresGrad = true;
        const { image_features } = await model.run('image_features', { pixel_values: pixels });
        const merged = await model.run('merge', { image_features, input_ids: inputs.input_ids });
        const { last_hidden_state: encoded } = await model.run('encoder', merged);
        const out = await decode(queries, {
          attention_mask: inputs.attention_mask!,
          encoder_hidden_states: encoded!,
          encoder_attention_mask: merged.attention_mask!,
        });
        await backward(out.last_hidden_state!, inputs.grad_output);
        return {
          last_hidden_state: out.last_hidden_state!,
          grad_queries: queries.grad!,
          grad_pixel_values: pixels.grad!,
        };
      },
    },
    dispose: () => model.dispose(),
  };
});
