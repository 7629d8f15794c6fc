/**
 * Images into the VLV auto-encoder: decoding and the stage-1 crop (lib/vlv/image-decode.ts,
 * re-exported here), and Florence-2's processor behind the crop (VlvImageProcessor).
 */
import { VlvError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { Florence2Processor } from '../vision/florence2-processor.js';
import type { RgbImage } from '../vision/image-preprocess.js';
import { stage1Crop, VLV_IMAGE_SIZE, VLV_PROMPT, type DecodedImage } from './image-decode.js';

export {
  readImage,
  imageLabel,
  resizeShorterSide,
  centerCropOffsets,
  stage1Crop,
  VLV_PROMPT,
  VLV_IMAGE_SIZE,
  type RawImage,
  type VlvImageSource,
  type DecodedImage,
  type RgbImage,
} from './image-decode.js';

/** An RGB image as f32 [1, 3, H, W] in [0, 1] (for side-by-side output and comparisons). */
export function rgbToTensor(img: RgbImage): Tensor {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[c * n + i] = img.data[3 * i + c]! / 255;
  return Tensor.from(out, [1, 3, img.height, img.width]);
}

/** The encoder's inputs for a batch: Florence-2's pixel values and prompt ids, and the crops they came from. */
export interface PreparedImages {
  /** f32 [B, 3, S, S] (S: Florence-2's input size). */
  pixelValues: Tensor;
  /** i64 [B, L]: the prompt's ids. */
  inputIds: Tensor;
  /** The stage-1 crops (imageSize x imageSize, 8-bit RGB). */
  crops: RgbImage[];
  files: string[];
}

/** Florence-2's processor with the stage-1 crop in front of it (one per VLV folder). */
export class VlvImageProcessor {
  private constructor(
    readonly processor: Florence2Processor,
    /** The stage-1 crop side (official: 384). */
    readonly imageSize: number,
    /** The task prompt (official: <MORE_DETAILED_CAPTION>). */
    readonly prompt: string,
  ) {}

  /**
   * From a Florence-2 folder (preprocessor_config.json and the tokenizer files). `imageSize`
   * defaults to 384 (official), or to Florence-2's own input side when that is smaller (the tiny
   * test models: a larger crop would only be shrunk again by its resize).
   */
  static async load(florence2: string, opts: { imageSize?: number; prompt?: string } = {}): Promise<VlvImageProcessor> {
    const processor = await Florence2Processor.load(florence2);
    const size = processor.image.size;
    const side = 'height' in size ? Math.min(size.height, size.width) : size.shortestEdge;
    const imageSize = opts.imageSize ?? Math.min(VLV_IMAGE_SIZE, side);
    if (!Number.isInteger(imageSize) || imageSize < 1)
      throw new VlvError('E_ARG', `imageSize must be a positive integer, got ${imageSize}`);
    return new VlvImageProcessor(processor, imageSize, opts.prompt ?? VLV_PROMPT);
  }

  /** Crops decoded images and runs Florence-2's processor on them. */
  async prepare(images: readonly DecodedImage[], signal?: AbortSignal): Promise<PreparedImages> {
    if (images.length === 0) throw new VlvError('E_ARG', 'no images');
    const crops: RgbImage[] = [];
    for (const im of images) {
      if (signal?.aborted) throw new VlvError('E_ABORTED', 'aborted while preparing the images');
      crops.push(stage1Crop(im.rgb, this.imageSize));
    }
    const out = await this.processor.process(
      images.map(() => this.prompt),
      crops.map((c) => ({ ...c, channels: 3 as const })),
    );
    out.attentionMask.dispose();
    return { pixelValues: out.pixelValues, inputIds: out.inputIds, crops, files: images.map((i) => i.file) };
  }
}
