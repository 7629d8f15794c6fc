// florence2: Florence-2 remote code (Florence2ForConditionalGeneration) as VLV uses it: the
// vision tower, image features, prompt merge, BART encoder and the learnable-query decoder.
import { backward } from '../autograd.js';
import { Florence2Model } from '../models/florence2.js';
import type { Tensor } from '../tensor.js';
import { registerComponent } from './registry.js';

registerComponent('florence2', async (folder, options) => {
  const model = await Florence2Model.load(folder, { device: options.device ?? 'cpu' });
  const decode = (queries: Tensor, inputs: Record<string, Tensor | undefined>) =>
    model.queryDecoder({
      inputsEmbeds: queries,
      attentionMask: inputs.attention_mask,
      encoderHiddenStates: inputs.encoder_hidden_states,
      encoderAttentionMask: inputs.encoder_attention_mask,
    });
  return {
    runners: {
      'florence2.vision_tower': async (_spec, inputs) => model.visionTower({ pixelValues: inputs.pixel_values! }),
      'florence2.image_features': async (_spec, inputs) => {
        const { imageFeatures } = await model.imageFeatures({ pixelValues: inputs.pixel_values! });
        return { image_features: imageFeatures };
      },
      'florence2.merge': async (_spec, inputs) => {
        const out = await model.merge({ imageFeatures: inputs.image_features!, inputIds: inputs.input_ids });
        return { inputs_embeds: out.inputsEmbeds, attention_mask: out.attentionMask };
      },
      'florence2.encoder': async (_spec, inputs) => {
        const out = await model.encoder({ inputsEmbeds: inputs.inputs_embeds!, attentionMask: inputs.attention_mask });
        return { last_hidden_state: out.lastHiddenState };
      },
      'florence2.query_decoder': async (_spec, inputs) => ({
        last_hidden_state: (await decode(inputs.queries!, inputs)).lastHiddenState,
      }),
      // image_features -> merge -> encoder -> query_decoder; gradients of
      // sum(last_hidden_state * grad_output) w.r.t. the queries and the pixels.
      'florence2.query_decoder_backward': async (_spec, inputs) => {
        const pixels = inputs.pixel_values!.detach();
        const queries = inputs.queries!.detach();
        pixels.requiresGrad = true;
        queries.requiresGrad = true;
        const { imageFeatures } = await model.imageFeatures({ pixelValues: pixels });
        const merged = await model.merge({ imageFeatures, inputIds: inputs.input_ids });
        const { lastHiddenState: encoded } = await model.encoder(merged);
        const out = await decode(queries, {
          attention_mask: inputs.attention_mask!,
          encoder_hidden_states: encoded,
          encoder_attention_mask: merged.attentionMask,
        });
        await backward(out.lastHiddenState, inputs.grad_output);
        return { last_hidden_state: out.lastHiddenState, grad_queries: queries.grad!, grad_pixel_values: pixels.grad! };
      },
    },
    dispose: () => model.dispose(),
  };
});
