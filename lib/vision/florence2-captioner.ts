/**
 * Florence2Captioner: Florence-2's own captions (and its other tasks) for a list of images, the
 * baseline the VLV paper compares its captions against. It does what the Florence-2-large
 * model card's example does, per image:
 *
 *   inputs = processor(text=task, images=image)
 *   ids = model.generate(input_ids, pixel_values, max_new_tokens=1024, num_beams=3, do_sample=False)
 *   text = processor.batch_decode(ids, skip_special_tokens=False)[0]
 *   parsed = processor.post_process_generation(text, task=task, image_size=(image.width, image.height))
 *
 * with the other generation settings (no_repeat_ngram_size, early_stopping, forced bos / eos,
 * length_penalty) from the folder's text_config as there. Images that preprocess to the same
 * size go through generate together (`batchSize` at a time); every prompt of a call is the
 * same, so no prompt is padded and a batch gives each image what it alone would (up to float
 * rounding in batched matrix products). The image size given to the post-processing is the
 * ORIGINAL image's (stored size; EXIF orientation is not applied, as PIL does not).
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { CallOptions } from '../call-options.js';
import { VlvError } from '../errors.js';
import { Florence2Model } from '../models/florence2.js';
import type { LoadOptions } from '../models/model.js';
import { Tensor } from '../tensor.js';
import { constructPrompt, Florence2Processor } from './florence2-processor.js';
import {
  florence2PostProcessType,
  postProcessFlorence2Generation,
  type Florence2Answer,
  type Florence2ImageSize,
} from './florence2-postprocess.js';
import { preprocessImage, type ImageInput, type Resampler } from './image-preprocess.js';

export interface Florence2CaptionerLoadOptions extends LoadOptions {
  /** The resize of the preprocessing: 'pil' (default, bit-exact with the reference) or 'sharp'. */
  resampler?: Resampler;
}

export interface Florence2CaptionOptions extends CallOptions {
  /** A task token ('<CAPTION>', '<DETAILED_CAPTION>', '<OD>', ...) or a free prompt. Default '<MORE_DETAILED_CAPTION>'. */
  task?: string;
  /** The input of a task that takes one (e.g. the caption of '<CAPTION_TO_PHRASE_GROUNDING>'), appended to the task. */
  text?: string;
  /** Beam width (default 3, the reference example's num_beams). */
  beams?: number;
  /**
   * New tokens at most (default 1024, the reference example's max_new_tokens), capped at the
   * decoder's max_position_embeddings (Florence-2-large: 1024) since it cannot go further.
   */
  maxNewTokens?: number;
  /** Images per generate call (default 8). */
  batchSize?: number;
}

export interface Florence2Caption {
  /** The image's path, when it was given as one. */
  file?: string;
  task: string;
  /**
   * The answer's text: for the caption and other pure-text tasks the caption itself (the
   * parsed answer); for the others the generated text without <s>, </s> and <pad>
   * (locations as <loc_N> tokens).
   */
  text: string;
  /** post_process_generation's result: `{[task]: answer}`. */
  parsed: Record<string, Florence2Answer>;
  /** The generated tokens as Florence2Model.generate returned them (forced <s> first), up to and including </s>. */
  ids: number[];
  /** The original image's size, the one the coordinates refer to. */
  imageSize: Florence2ImageSize;
}

/** One image ready for generate. */
interface Prepared {
  index: number;
  file?: string;
  size: Florence2ImageSize;
  pixels: { data: Float32Array; width: number; height: number };
}

const describe = (input: ImageInput, index: number) =>
  typeof input === 'string' ? input : `image ${index} (${Buffer.isBuffer(input) ? 'a buffer' : 'in memory'})`;

function positiveInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new VlvError('E_ARG', `Florence2Captioner.caption: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new VlvError('E_ABORTED', 'Florence2Captioner.caption: aborted');
}

/** Decodes one image's size and preprocesses it; every failure is a typed error naming the image. */
async function prepare(
  input: ImageInput,
  index: number,
  processor: Florence2Processor,
  resampler: Resampler,
): Promise<Prepared> {
  const name = describe(input, index);
  let source: ImageInput = input;
  if (typeof input === 'string') {
    try {
      source = await readFile(input);
    } catch (e) {
      throw new VlvError('E_FILE', `Florence2Captioner: cannot read ${name}: ${(e as Error).message}`, { cause: e });
    }
  }
  try {
    let size: Florence2ImageSize;
    if (typeof source === 'string' || source instanceof Uint8Array) {
      const meta = await sharp(source).metadata();
      if (!meta.width || !meta.height) throw new Error('no image size in the file');
      size = { width: meta.width, height: meta.height };
    } else size = { width: source.width, height: source.height };
    const pixels = await preprocessImage(source, processor.image, resampler);
    return { index, ...(typeof input === 'string' ? { file: input } : {}), size, pixels };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new VlvError('E_FILE_FORMAT', `Florence2Captioner: ${name} is not a readable image: ${why}`, { cause: e });
  }
}

export class Florence2Captioner {
  private constructor(
    /** The Florence-2 model (its generate). */
    readonly model: Florence2Model,
    /** Its processor (prompts, tokenizer, image preprocessing). */
    readonly processor: Florence2Processor,
    private readonly resampler: Resampler,
  ) {}

  /** From a Florence-2 folder: config.json, weights, preprocessor_config.json and the tokenizer files. */
  static async load(folder: string, opts: Florence2CaptionerLoadOptions = {}): Promise<Florence2Captioner> {
    const { resampler = 'pil', ...load } = opts;
    if (resampler !== 'pil' && resampler !== 'sharp')
      throw new VlvError(
        'E_ARG',
        `Florence2Captioner.load: resampler must be 'pil' or 'sharp', got ${String(resampler)}`,
      );
    const processor = await Florence2Processor.load(folder);
    const model = await Florence2Model.load(folder, load);
    return new Florence2Captioner(model, processor, resampler);
  }

  /** Each image's answer to `task`, in the order given. */
  async caption(images: readonly ImageInput[], opts: Florence2CaptionOptions = {}): Promise<Florence2Caption[]> {
    const { task = '<MORE_DETAILED_CAPTION>', text = '', signal, onProgress } = opts;
    const list: unknown = images;
    if (!Array.isArray(list))
      throw new VlvError('E_ARG', 'Florence2Captioner.caption: images must be an array (paths or encoded images)');
    if (typeof task !== 'string' || task === '')
      throw new VlvError('E_ARG', 'Florence2Captioner.caption: task must be a non-empty string');
    if (typeof text !== 'string') throw new VlvError('E_ARG', 'Florence2Captioner.caption: text must be a string');
    const beams = positiveInt(opts.beams ?? 3, 'beams');
    const batchSize = positiveInt(opts.batchSize ?? 8, 'batchSize');
    const lm = this.model.config.text_config;
    const maxNewTokens = Math.min(positiveInt(opts.maxNewTokens ?? 1024, 'maxNewTokens'), lm.max_position_embeddings);
    const prompt = constructPrompt(task + text); // E_ARG for a task token with text it does not take
    const promptIds = this.processor.tokenizer.encodeBatch([prompt]).ids[0]!;
    checkAborted(signal);

    const results: Florence2Caption[] = new Array<Florence2Caption>(images.length);
    let done = 0;
    for (let start = 0; start < images.length; start += batchSize) {
      const chunk: Prepared[] = [];
      for (let i = start; i < Math.min(start + batchSize, images.length); ++i) {
        checkAborted(signal);
        chunk.push(await prepare(images[i]!, i, this.processor, this.resampler));
      }
      // Images of one processed size go together (a fixed-size preprocessor gives one group).
      const groups = new Map<string, Prepared[]>();
      for (const p of chunk) {
        const key = `${p.pixels.width}x${p.pixels.height}`;
        groups.set(key, [...(groups.get(key) ?? []), p]);
      }
      for (const group of groups.values()) {
        checkAborted(signal);
        const rows = await this.generate(group, promptIds, { beams, maxNewTokens, signal, onProgress });
        group.forEach((p, r) => (results[p.index] = this.answer(p, task, rows[r]!)));
        done += group.length;
        onProgress?.({ stage: 'image', done, total: images.length });
      }
    }
    return results;
  }

  /** One generate over images of the same processed size: each row's ids. */
  private async generate(
    group: readonly Prepared[],
    promptIds: readonly number[],
    opts: { beams: number; maxNewTokens: number } & CallOptions,
  ): Promise<number[][]> {
    const { width, height } = group[0]!.pixels;
    const flat = new Float32Array(group.length * 3 * width * height);
    group.forEach((p, i) => flat.set(p.pixels.data, i * p.pixels.data.length));
    const pixelValues = Tensor.from(flat, [group.length, 3, height, width]);
    const inputIds = Tensor.from(
      group.flatMap(() => promptIds),
      [group.length, promptIds.length],
      'i64',
    );
    try {
      // The reference example's settings, explicit; the rest from text_config as there.
      const out = await this.model.generate(
        { pixelValues, inputIds },
        {
          numBeams: opts.beams,
          maxNewTokens: opts.maxNewTokens,
          doSample: false,
          numReturnSequences: 1,
          signal: opts.signal,
          onProgress: opts.onProgress,
        },
      );
      return out.ids;
    } finally {
      pixelValues.dispose();
      inputIds.dispose();
    }
  }

  /** A row of generated ids -> the image's answer. */
  private answer(p: Prepared, task: string, row: readonly number[]): Florence2Caption {
    const lm = this.model.config.text_config;
    const eos = lm.eos_token_id ?? lm.forced_eos_token_id;
    const end = eos === null ? -1 : row.indexOf(eos);
    const ids = end < 0 ? [...row] : row.slice(0, end + 1); // the batch's padding after </s> dropped
    // transformers' generate returns the decoder start token (</s>) first; decoding it too gives
    // the reference's text exactly ('</s><s>...</s>'), which <OCR_WITH_REGION> labels show.
    const decoded = this.processor.decode([lm.decoder_start_token_id, ...ids], { skipSpecialTokens: false });
    const parsed = postProcessFlorence2Generation(decoded, task, p.size);
    const answer = parsed[task];
    const text =
      florence2PostProcessType(task) === 'pure_text' && typeof answer === 'string'
        ? answer
        : ['<s>', '</s>', '<pad>'].reduce((t, token) => t.replaceAll(token, ''), decoded);
    return { ...(p.file !== undefined ? { file: p.file } : {}), task, text, parsed, ids, imageSize: p.size };
  }

  /** Frees the model's native memory. */
  dispose(): void {
    this.model.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
    return Promise.resolve();
  }
}
