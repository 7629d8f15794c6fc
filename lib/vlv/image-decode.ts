/**
 * Decoding and the stage-1 crop (no engine: the data loader's worker threads use this module
 * without loading the addon; lib/vlv/images.ts re-exports it).
 *
 * Images into the VLV auto-encoder, as the official inference scripts prepare them
 * (train/Caption_inference.py, train/Image_inference.py: `Image.open(path).convert('RGB')`,
 * then `Resize(image_size)`, `CenterCrop(image_size)`, `PILToTensor()`), and then Florence-2's
 * processor as SDModel calls it (its resize, rescale and normalisation; the
 * `<MORE_DETAILED_CAPTION>` prompt).
 *
 * Decoding (sharp / libvips), where it departs from PIL's `convert('RGB')` on purpose:
 * - EXIF orientation IS applied (a phone photo comes out upright; PIL's `open` ignores the tag).
 * - alpha is discarded without blending, as `convert('RGB')` drops the band: the colour under a
 *   transparent pixel is what the model sees (no white or black background is composited).
 * - grey becomes R = G = B; 16-bit images are scaled to 8 bits (PIL keeps the high byte of a
 *   16-bit RGB PNG, the same thing, but clips a 16-bit grey PNG to 255); CMYK goes through
 *   libvips' colour management (the embedded ICC profile, else a generic CMYK one) to sRGB
 *   (PIL's CMYK -> RGB is a profile-less formula). Other colour spaces become sRGB.
 * A file that cannot be read is E_FILE, one that cannot be decoded E_FILE_FORMAT; both name it.
 *
 * The stage-1 transform (`stage1Crop`): torchvision's `Resize(size)` on a PIL image (the shorter
 * side becomes `size`, the longer `int(size * long / short)`, PIL's bilinear filter with its
 * support widened when shrinking: lib/vision/pil-resample.ts, exact to Pillow), then
 * `CenterCrop(size)` (offsets `int(round((h - size) / 2))`, Python's round: halves to even).
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { VlvError } from '../errors.js';
import type { RgbImage } from '../vision/image-preprocess.js';
import { pilResize } from '../vision/pil-resample.js';

export type { RgbImage } from '../vision/image-preprocess.js';

/** Raw interleaved 8-bit pixels (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA); `name` labels it in results and errors. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  name?: string;
}

/** An image for the pipelines: a file path, encoded bytes (JPEG, PNG, WebP, TIFF, ...), or raw pixels. */
export type VlvImageSource = string | Buffer | Uint8Array | RawImage;

/** A decoded image: 8-bit sRGB, interleaved, upright, and the name it goes by. */
export interface DecodedImage {
  file: string;
  rgb: RgbImage;
}

/** The official prompt of the VLV encoder (SDModel's Florence-2 task). */
export const VLV_PROMPT = '<MORE_DETAILED_CAPTION>';
/** The official image side (train/*_inference.py `--image_size`). */
export const VLV_IMAGE_SIZE = 384;

/** What results and errors call an input: its path, its `name`, else `image <index>`. */
export function imageLabel(input: VlvImageSource, index: number): string {
  if (typeof input === 'string') return input;
  if (!Buffer.isBuffer(input) && !(input instanceof Uint8Array) && input.name) return input.name;
  return `image ${index}`;
}

const isRaw = (x: VlvImageSource): x is RawImage =>
  typeof x === 'object' && !Buffer.isBuffer(x) && !(x instanceof Uint8Array);

/** Decodes one image to upright 8-bit sRGB (see the file comment); `label` names it in errors. */
export async function readImage(input: VlvImageSource, label = imageLabel(input, 0)): Promise<DecodedImage> {
  let bytes: Buffer | undefined;
  if (typeof input === 'string') {
    try {
      bytes = await readFile(input);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a folder' : err.message;
      throw new VlvError('E_FILE', `${label}: cannot read the image: ${why}`, { cause: e });
    }
  } else if (!isRaw(input)) bytes = Buffer.isBuffer(input) ? input : Buffer.from(input);
  let img: sharp.Sharp;
  if (bytes) img = sharp(bytes).rotate();
  else {
    const r = input as RawImage;
    if (!(r.data instanceof Uint8Array) || ![1, 2, 3, 4].includes(r.channels))
      throw new VlvError('E_ARG', `${label}: a raw image needs data (Uint8Array) and channels 1, 2, 3 or 4`);
    if (!Number.isInteger(r.width) || !Number.isInteger(r.height) || r.width < 1 || r.height < 1)
      throw new VlvError('E_ARG', `${label}: a raw image needs a positive integer width and height`);
    if (r.data.length !== r.width * r.height * r.channels)
      throw new VlvError(
        'E_SHAPE',
        `${label}: raw image data holds ${r.data.length} bytes, not ${r.width} x ${r.height} x ${r.channels}`,
      );
    img = sharp(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength), {
      raw: { width: r.width, height: r.height, channels: r.channels },
    });
  }
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await img.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new VlvError('E_FILE_FORMAT', `${label}: cannot decode the image: ${(e as Error).message}`, { cause: e });
  }
  const { width, height, channels } = out.info;
  const n = width * height;
  const rgb = new Uint8Array(3 * n);
  if (channels === 3) rgb.set(out.data.subarray(0, 3 * n));
  else
    for (let i = 0; i < n; i++)
      for (let c = 0; c < 3; c++) rgb[3 * i + c] = out.data[channels * i + Math.min(c, channels - 1)]!;
  return { file: label, rgb: { data: rgb, width, height } };
}

/** torchvision's Resize(size) output for a (width, height) image: the shorter side becomes `size`. */
export function resizeShorterSide(width: number, height: number, size: number): { width: number; height: number } {
  const long = Math.trunc((size * Math.max(width, height)) / Math.min(width, height));
  return width <= height ? { width: size, height: long } : { width: long, height: size };
}

/** Python's round() of a multiple of 0.5: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** torchvision's CenterCrop offsets for a crop of `size` inside (width, height): { left, top }. */
export function centerCropOffsets(width: number, height: number, size: number): { left: number; top: number } {
  return { left: roundHalfEven((width - size) / 2), top: roundHalfEven((height - size) / 2) };
}

/** The official stage-1 transform: Resize(size) (PIL bilinear, antialiased) then CenterCrop(size). */
export function stage1Crop(img: RgbImage, size: number): RgbImage {
  if (!Number.isInteger(size) || size < 1)
    throw new VlvError('E_ARG', `image size must be a positive integer, got ${size}`);
  const r = resizeShorterSide(img.width, img.height, size);
  const resized =
    r.width === img.width && r.height === img.height
      ? img
      : { data: pilResize(img.data, img.width, img.height, 3, r.width, r.height, 'bilinear'), ...r };
  const { left, top } = centerCropOffsets(resized.width, resized.height, size);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const from = ((y + top) * resized.width + left) * 3;
    out.set(resized.data.subarray(from, from + size * 3), y * size * 3);
  }
  return { data: out, width: size, height: size };
}
