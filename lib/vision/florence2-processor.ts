/**
 * Florence-2's processor (processing_florence2.py's Florence2Processor, hub remote code): task
 * tokens expanded into their text prompts, the folder's BART tokenizer with the processor's
 * added special tokens (<od>, <loc_0>..<loc_999>, <cap>, ...), and the image preprocessing of
 * its preprocessor_config.json (CLIPImageProcessor: lib/vision/image-preprocess.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VlvError } from '../errors.js';
import { Tensor } from '../tensor.js';
import type { Tokenizer } from '../tokenizer.js';
import { loadTokenizer } from '../tokenizer-files.js';
import {
  parseImageProcessorConfig,
  preprocessImage,
  type ImageInput,
  type ImageProcessorConfig,
  type Resampler,
} from './image-preprocess.js';

/** Task tokens that must be the whole text, and the prompt each becomes. */
export const TASK_PROMPTS_WITHOUT_INPUTS: Readonly<Record<string, string>> = {
  '<OCR>': 'What is the text in the image?',
  '<OCR_WITH_REGION>': 'What is the text in the image, with regions?',
  '<CAPTION>': 'What does the image describe?',
  '<DETAILED_CAPTION>': 'Describe in detail what is shown in the image.',
  '<MORE_DETAILED_CAPTION>': 'Describe with a paragraph what is shown in the image.',
  '<OD>': 'Locate the objects with category name in the image.',
  '<DENSE_REGION_CAPTION>': 'Locate the objects in the image, with their descriptions.',
  '<REGION_PROPOSAL>': 'Locate the region proposals in the image.',
};

/** Task tokens followed by an input; `{input}` is the text with the token removed. */
export const TASK_PROMPTS_WITH_INPUT: Readonly<Record<string, string>> = {
  '<CAPTION_TO_PHRASE_GROUNDING>': 'Locate the phrases in the caption: {input}',
  '<REFERRING_EXPRESSION_SEGMENTATION>': 'Locate {input} in the image with mask',
  '<REGION_TO_SEGMENTATION>': 'What is the polygon mask of region {input}',
  '<OPEN_VOCABULARY_DETECTION>': 'Locate {input} in the image.',
  '<REGION_TO_CATEGORY>': 'What is the region {input}?',
  '<REGION_TO_DESCRIPTION>': 'What does the region {input} describe?',
  '<REGION_TO_OCR>': 'What text is in the region {input}?',
};

/** The special tokens the processor adds to the BART tokenizer, in its order (ids 50265.. on BART's vocabulary). */
export const FLORENCE2_ADDED_TOKENS: readonly string[] = [
  '<od>',
  '</od>',
  '<ocr>',
  '</ocr>',
  ...Array.from({ length: 1000 }, (_, i) => `<loc_${i}>`),
  '<cap>',
  '</cap>',
  '<ncap>',
  '</ncap>',
  '<dcap>',
  '</dcap>',
  '<grounding>',
  '</grounding>',
  '<seg>',
  '</seg>',
  '<sep>',
  '<region_cap>',
  '</region_cap>',
  '<region_to_desciption>',
  '</region_to_desciption>',
  '<proposal>',
  '</proposal>',
  '<poly>',
  '</poly>',
  '<and>',
];

/** Florence2Processor._construct_prompts for one text. */
export function constructPrompt(text: string): string {
  for (const [token, prompt] of Object.entries(TASK_PROMPTS_WITHOUT_INPUTS)) {
    if (!text.includes(token)) continue;
    if (text !== token)
      throw new VlvError(
        'E_ARG',
        `florence2 processor: task token ${token} must be the only text, got ${JSON.stringify(text)}`,
      );
    text = prompt;
    break;
  }
  for (const [token, prompt] of Object.entries(TASK_PROMPTS_WITH_INPUT)) {
    if (!text.includes(token)) continue;
    const input = text.replaceAll(token, '');
    text = prompt.replace('{input}', () => input);
    break;
  }
  return text;
}

export interface Florence2Inputs {
  /** i64 [B, L], right-padded with <pad> */
  inputIds: Tensor;
  /** i64 [B, L], 1 for a real token */
  attentionMask: Tensor;
  /** f32 [B, 3, H, W] */
  pixelValues: Tensor;
}

export class Florence2Processor {
  private constructor(
    readonly tokenizer: Tokenizer,
    readonly image: ImageProcessorConfig,
  ) {}

  /** From a Florence-2 folder: its tokenizer files and preprocessor_config.json. */
  static async load(folder: string): Promise<Florence2Processor> {
    const path = join(folder, 'preprocessor_config.json');
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ? 'E_FILE' : 'E_FILE_FORMAT';
      throw new VlvError(code, `florence2 processor: cannot read ${path}: ${(e as Error).message}`, { cause: e });
    }
    if (!json || typeof json !== 'object' || Array.isArray(json))
      throw new VlvError('E_FILE_FORMAT', `${path} must hold a JSON object`);
    const tokenizer = await loadTokenizer(folder, { family: 'bart' });
    return new Florence2Processor(
      tokenizer.withAddedTokens(FLORENCE2_ADDED_TOKENS),
      parseImageProcessorConfig(json as Record<string, unknown>, path),
    );
  }

  /** Prompts (task tokens expanded) and images, one image per text. */
  async process(
    texts: string | readonly string[],
    images: ImageInput | readonly ImageInput[],
    opts: { resampler?: Resampler } = {},
  ): Promise<Florence2Inputs> {
    const t = typeof texts === 'string' ? [texts] : [...texts];
    const im = Array.isArray(images) ? (images as readonly ImageInput[]) : [images as ImageInput];
    if (im.length < t.length)
      throw new VlvError('E_ARG', `florence2 processor: ${im.length} images for ${t.length} prompts`);
    const enc = this.tokenizer.encodeBatch(t.map(constructPrompt), { padding: 'longest' });
    const pixels = await Promise.all(im.map((x) => preprocessImage(x, this.image, opts.resampler)));
    const { width, height } = pixels[0]!;
    if (!pixels.every((p) => p.width === width && p.height === height))
      throw new VlvError('E_SHAPE', 'florence2 processor: the images have different sizes after preprocessing');
    const flat = new Float32Array(pixels.length * 3 * width * height);
    pixels.forEach((p, i) => flat.set(p.data, i * p.data.length));
    const rows = enc.ids.length,
      len = enc.ids[0]?.length ?? 0;
    return {
      inputIds: Tensor.from(enc.ids.flat(), [rows, len], 'i64'),
      attentionMask: Tensor.from(enc.attentionMask.flat(), [rows, len], 'i64'),
      pixelValues: Tensor.from(flat, [pixels.length, 3, height, width]),
    };
  }

  /** Generated ids -> text (the processor's batch_decode). */
  decode(ids: ArrayLike<number | bigint>, opts: { skipSpecialTokens?: boolean } = {}): string {
    return this.tokenizer.decode(ids, opts);
  }
}
