/**
 * The image transforms (types.ts `ImageTransform`), run in the decoding workers. Nothing here
 * loads the engine: the workers decode with sharp and compute in plain TypeScript, and the
 * loader makes tensors of the results on the main thread.
 * - decoding: lib/vlv/image-decode.ts `readImage` (EXIF orientation applied, alpha dropped,
 *   grey / CMYK / 16-bit to 8-bit sRGB; GIF: the first frame);
 * - the crop: `stage1Crop` (torchvision Resize(S) with PIL's antialiased bilinear, exact to
 *   Pillow, then CenterCrop(S)); both transforms use it;
 * - 'vlv': Florence-2's image processor (lib/vision/image-preprocess.ts `preprocessImage`, what
 *   Florence2Processor.process runs per image, with the folder's preprocessor_config.json) on
 *   the crop -> pixelValues [3, H, W];
 * - the crop in [-1, 1] as the official SDModel makes the VAE's input: `x / 255 * 2 - 1` in
 *   float32 -> image [3, S, S].
 */
import { readImage } from '../vlv/image-decode.js';
import { stage1Crop } from '../vlv/image-decode.js';
import { preprocessImage, type ImageProcessorConfig, type RgbImage } from '../vision/image-preprocess.js';

/** A transform as the workers get it: plain data (the Florence-2 config is read on the main thread). */
export type WorkerTransform =
  { kind: 'vlv'; cropSize: number; florence: ImageProcessorConfig } | { kind: 'resize-crop'; size: number };

/** What a worker decodes: a file, or the bytes of a shard's image. */
export interface DecodeInput {
  key: string;
  file?: string;
  bytes?: Uint8Array;
}

export interface DecodeOutput {
  /** [3, S, S] in [-1, 1]. */
  image: Float32Array;
  /** 'vlv': Florence-2's pixel values [3, H, W] and their side. */
  pixelValues?: Float32Array;
  pixelSize?: [number, number];
}

/** An 8-bit RGB image (HWC) as float32 [3, H, W] in [-1, 1]: torch's `x / 255 * 2 - 1` on float32. */
export function toSignedUnit(img: RgbImage): Float32Array {
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  const f = Math.fround;
  for (let i = 0; i < plane; i++)
    for (let c = 0; c < 3; c++) out[c * plane + i] = f(f(f(img.data[3 * i + c]! / 255) * 2) - 1);
  return out;
}

/** Decodes and transforms one image (throws VlvError E_FILE / E_FILE_FORMAT when it cannot). */
export async function applyTransform(input: DecodeInput, t: WorkerTransform): Promise<DecodeOutput> {
  const src =
    input.file ??
    (input.bytes ? Buffer.from(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength) : undefined);
  if (src === undefined) throw new Error(`${input.key}: nothing to decode`);
  const { rgb } = await readImage(src, input.key);
  const crop = stage1Crop(rgb, t.kind === 'vlv' ? t.cropSize : t.size);
  const image = toSignedUnit(crop);
  if (t.kind === 'resize-crop') return { image };
  const px = await preprocessImage({ ...crop, channels: 3 }, t.florence);
  return { image, pixelValues: px.data, pixelSize: [px.height, px.width] };
}
