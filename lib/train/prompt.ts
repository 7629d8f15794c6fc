/** The encoder's task prompt ids for a batch (both stages): `<MORE_DETAILED_CAPTION>` as Florence-2's processor encodes it. */
import { Tensor } from '../tensor.js';
import { constructPrompt } from '../vision/florence2-processor.js';
import { VLV_PROMPT } from '../vlv/images.js';
import type { VlvModel } from '../vlv/model.js';
import { imageProcessor } from '../vlv/pipelines.js';

export async function promptIds(model: VlvModel, imageSize: number | null): Promise<(batch: number) => Tensor> {
  const proc = await imageProcessor(model, imageSize ?? undefined);
  const ids = proc.processor.tokenizer.encodeBatch([constructPrompt(VLV_PROMPT)], { padding: 'longest' }).ids[0]!;
  return (b: number) => Tensor.from(Array.from({ length: b }, () => ids).flat(), [b, ids.length], 'i64');
}
