// clip_text: transformers CLIPTextModel (+ VLV's inputs_embeds path).
import { backward } from '../autograd.js';
import { ClipTextModel, type ClipTextOutput } from '../models/clip-text.js';
import type { Tensor } from '../tensor.js';
import { registerComponent } from './registry.js';

/** The typed outputs under the reference's names. */
function referenceNames(out: ClipTextOutput): Record<string, Tensor> {
  const named: Record<string, Tensor> = {
    last_hidden_state: out.lastHiddenState,
    penultimate_hidden_state: out.penultimateHiddenState,
    prompt_embeds: out.promptEmbeds,
  };
  out.hiddenStates.forEach((h, i) => (named[`hidden_states.${i}`] = h));
  if (out.poolerOutput) named.pooler_output = out.poolerOutput;
  return named;
}

registerComponent('clip_text', async (folder, options) => {
  const model = await ClipTextModel.load(folder, { device: options.device ?? 'cpu' });
  return {
    runners: {
      'clip_text.forward': async (_spec, inputs) =>
        referenceNames(
          await model.forward({
            inputIds: inputs.input_ids,
            inputsEmbeds: inputs.inputs_embeds,
            attentionMask: inputs.attention_mask,
          }),
        ),
      'clip_text.backward': async (_spec, inputs) => {
        const x = inputs.inputs_embeds!.detach();
        x.requiresGrad = true;
        const out = await model.forward({ inputsEmbeds: x });
        await backward(out.lastHiddenState, inputs.grad_output);
        return { grad_inputs_embeds: x.grad! };
      },
    },
    dispose: () => model.dispose(),
  };
});
