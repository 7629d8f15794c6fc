/**
 * Stage 2 (the official CLIPDecoder training): (image, caption) pairs. The caption embedding c
 * goes through the MLP into the Qwen2 language model as a prefix; the loss is the model's
 * stage2Loss, next-token cross-entropy on the caption tokens (-100 on the prefix and on padding).
 * Captions are tokenized with the language model folder's tokenizer, padded / truncated to 300
 * tokens (official) with its pad id.
 */
import type { Batch } from '../data/types.js';
import { VlvError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { loadTokenizer } from '../tokenizer-files.js';
import type { VlvModel } from '../vlv/model.js';
import { evaluateStage2 } from './evaluate.js';
import { vlvStageSpec, type StageRunner, type StageSpec } from './loop.js';
import type { RunSettings } from './options.js';
import { promptIds } from './prompt.js';

async function prepare(model: VlvModel, s: RunSettings, device: 'cpu' | 'cuda'): Promise<StageRunner> {
  const lm = model.folder.parts.language_model;
  if (!lm) throw new VlvError('E_FILE', `${model.folder.root} has no language_model part (stage 2 trains it)`);
  const tokenizer = await loadTokenizer(lm);
  const padTokenId = tokenizer.padTokenId ?? tokenizer.eosTokenId;
  if (padTokenId === null)
    throw new VlvError(
      'E_FILE_FORMAT',
      `${lm}: the tokenizer has neither a pad nor an end token (captions are padded)`,
    );
  const prompt = await promptIds(model, s.imageSize);
  const captionIds = (batch: Batch): Tensor => {
    if (!batch.captions || batch.captions.length !== batch.image.shape[0])
      throw new VlvError('E_ARG', 'stage 2 needs a caption for every image (pairs: JSONL, CSV or WebDataset shards)');
    const enc = tokenizer.encodeBatch(batch.captions, {
      padding: 'max_length',
      maxLength: s.maxCaptionTokens,
      truncation: true,
    });
    return Tensor.from(enc.ids.flat(), [enc.ids.length, s.maxCaptionTokens], 'i64');
  };
  return {
    async loss(batch, _seed) {
      if (!batch.pixelValues) throw new VlvError('E_ARG', 'stage 2 batches need pixelValues (the vlv transform)');
      const ids = prompt(batch.image.shape[0]!);
      const caps = captionIds(batch);
      const [pixelValues, inputIds, cap] = await Promise.all([
        batch.pixelValues.to(device),
        ids.to(device),
        caps.to(device),
      ]);
      const r = await model.stage2Loss({ pixelValues, inputIds, captionIds: cap }, { padTokenId });
      const temps = [ids, caps, inputIds, cap, r.prefix, r.labels, r.attentionMask];
      if (pixelValues !== batch.pixelValues) temps.push(pixelValues);
      return { loss: r.loss, temps: [...new Set(temps)] };
    },
    shapes(batch) {
      const ids = prompt(batch.image.shape[0]!);
      const caps = captionIds(batch);
      const out = { pixelValues: batch.pixelValues?.shape ?? [], inputIds: ids.shape, captionIds: caps.shape };
      ids.dispose();
      caps.dispose();
      return out;
    },
    async evaluate(ctx) {
      const captions = await evaluateStage2(model, ctx.set, {
        maxNewTokens: ctx.hk.evalMaxNewTokens,
        imageSize: ctx.imageSize,
      });
      const first = captions[0];
      return { captions, ...(first ? { line: `caption of ${first.key}: ${first.caption}` } : {}) };
    },
    dispose() {},
  };
}

export const STAGE2: StageSpec = vlvStageSpec('stage2', 2, 'stage2', prepare);
