// qwen2: transformers Qwen2ForCausalLM (forward with left padding, inputs_embeds, generate, loss).
// The engine model itself (not CausalLM): a case's generate keyword arguments are the engine's
// options one to one, with no generation_config.json defaults layered under them.
import { backward } from '../autograd.js';
import type { AttrValue } from '../native.js';
import { Model } from '../models/model.js';
import { optionsFromEngine, type Options } from '../options.js';
import { registerComponent } from './registry.js';

/** A case's `generate` keyword arguments (Python's spelling) as options: nulls dropped, the prefix mask note skipped. */
function generateOptions(spec: { generate?: Record<string, unknown> }): Options {
  const kwargs: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(spec.generate ?? {})) {
    if (v === null || k === 'attention_mask') continue;
    kwargs[k] = v as AttrValue;
  }
  return optionsFromEngine(kwargs);
}

registerComponent('qwen2', async (folder, options) => {
  const model = await Model.load('qwen2', folder, { device: options.device ?? 'cpu' });
  return {
    runners: {
      'causal_lm.forward': (_spec, inputs) => model.run('forward', inputs),
      'causal_lm.generate': async (spec, inputs) => {
        const out = await model.run('generate', inputs, generateOptions(spec));
        return { ids: out.ids!, ...(out.sequences_scores ? { scores: out.sequences_scores } : {}) };
      },
      'causal_lm.loss': async (_spec, inputs) => {
        if (!inputs.inputs_embeds) return model.run('loss', inputs);
        const x = inputs.inputs_embeds.detach();
        x.requiresGrad = true;
        const { loss } = await model.run('loss', { ...inputs, inputs_embeds: x });
        await backward(loss!);
        return { loss: loss!, grad_inputs_embeds: x.grad! };
      },
    },
    dispose: () => model.dispose(),
  };
});
