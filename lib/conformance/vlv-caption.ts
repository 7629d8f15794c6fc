// vlv_caption: the official VLV captioner (CLIPDecoder, the released model.pt) through the
// engine's "vlv" kind: generation from images (the bf16 prefix, beam search and greedy), the
// first forward on the bf16 prefix, and the stage-2 loss with its gradient.
import { backward } from '../autograd.js';
import { cast } from '../ops.js';
import type { Options } from '../options.js';
import { VlvError } from '../errors.js';
import { loadTokenizer } from '../tokenizer-files.js';
import type { Tensor } from '../tensor.js';
import { VlvModel } from '../vlv/model.js';
import { registerComponent } from './registry.js';

interface GenerateSpec {
  generate?: {
    max_new_tokens?: number;
    num_beams?: number;
    early_stopping?: boolean;
    eos_token_id?: number;
    pad_token_id?: number;
  };
}

function generateOptions(spec: GenerateSpec): Options {
  const g = spec.generate ?? {};
  return {
    maxNewTokens: g.max_new_tokens ?? 300,
    numBeams: g.num_beams ?? 4,
    earlyStopping: g.early_stopping ?? true,
    ...(g.eos_token_id !== undefined ? { eosTokenId: [g.eos_token_id] } : {}),
    ...(g.pad_token_id !== undefined ? { padTokenId: g.pad_token_id } : {}),
  };
}

registerComponent('vlv_caption', async (folder, options) => {
  const model = await VlvModel.load(folder, { use: 'caption', device: options.device ?? 'cpu' });
  return {
    runners: {
      'vlv_caption.generate': async (spec, inputs) => {
        const out = await model.run(
          'generate',
          { pixel_values: inputs.pixel_values, input_ids: inputs.input_ids },
          generateOptions(spec),
        );
        return { c: out.c!, prefix: out.prefix!, prefix_bf16: out.prefix_bf16!, ids: out.ids! };
      },
      'vlv_caption.prefill': async (_spec, inputs) =>
        model.run('prefill', { inputs_embeds: await cast(inputs.inputs_embeds!, 'bf16') }),
      'vlv_caption.loss': async (spec, inputs) => {
        const pad = (spec as GenerateSpec).generate?.pad_token_id ?? (await padTokenOf(model));
        const trainable = Object.values(model.trainableParameters(2));
        for (const p of trainable) p.requiresGrad = true;
        try {
          const r = await model.stage2Loss(
            { pixelValues: inputs.pixel_values, inputIds: inputs.input_ids, captionIds: inputs.caption_ids! },
            { padTokenId: pad },
          );
          await backward(r.loss);
          const grad: Tensor | null | undefined = model.parameters()['mlp.layers.0.weight']?.grad;
          return {
            prefix: r.prefix,
            labels: r.labels,
            attention_mask: r.attentionMask,
            loss: r.loss,
            ...(grad ? { 'grad.mlp.layers.0.weight': grad } : {}),
          };
        } finally {
          for (const p of trainable) {
            p.requiresGrad = false;
            p.zeroGrad();
          }
        }
      },
    },
    dispose: () => model.dispose(),
  };
});

/** The language model tokenizer's pad id, as the official code pads the captions. */
async function padTokenOf(model: VlvModel): Promise<number> {
  const folder = model.folder.parts.language_model;
  const pad = folder ? (await loadTokenizer(folder)).padTokenId : null;
  if (pad === null)
    throw new VlvError('E_FILE', 'vlv_caption: the language model folder has no tokenizer with a pad token');
  return pad;
}
