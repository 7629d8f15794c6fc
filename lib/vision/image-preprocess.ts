/**
 * Image preprocessing as transformers' CLIPImageProcessor does it (the image processor of
 * Florence-2, CLIP and others), driven by a preprocessor_config.json: decode to 8-bit RGB with
 * sharp (libvips), resize (exact {height, width}, or {shortest_edge} keeping the aspect
 * ratio), optional centre crop, rescale (x * rescale_factor), normalise ((x - mean) / std),
 * channels first, float32.
 *
 * The reference resizes with PIL (`resample` 3 = BICUBIC, a = -0.5, antialiased when
 * shrinking). sharp's resize does not reproduce it: measured on the 123x87 fixture image
 * against Pillow 9.4 (RESAMPLE_DIFFERENCE below) it is close when shrinking (libvips' reduce
 * is the same antialiased cubic, with its own fixed-point rounding) but far off when enlarging
 * (libvips enlarges through its bicubic interpolator on another sampling grid, and ignores the
 * kernel choice: cubic, mitchell and lanczos3 give the same pixels). Florence-2 enlarges every
 * image smaller than 768x768, so by default vlv resizes with lib/vision/pil-resample.ts, a
 * re-implementation of PIL's resampler that matches Pillow bit for bit; `resampler: 'sharp'`
 * picks libvips (faster on big photos). Everything after the resize (rescale, normalise,
 * layout) matches the reference to float32 rounding. Images with alpha lose it (PIL's
 * convert('RGB')); grey becomes RGB; EXIF orientation is not applied (PIL does not either).
 */
import sharp from 'sharp';
import { VlvError } from '../errors.js';
import { pilResize, type PilFilter } from './pil-resample.js';

/** The fields of preprocessor_config.json this reads (CLIPImageProcessor's). */
export interface ImageProcessorConfig {
  doResize: boolean;
  size: { height: number; width: number } | { shortestEdge: number };
  /** PIL resample code: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic. */
  resample: number;
  doCenterCrop: boolean;
  cropSize: { height: number; width: number } | null;
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

/**
 * sharp (kernel 'cubic') vs PIL BICUBIC on the 123x87 fixture image, in uint8 levels (max and
 * mean |difference| over all values), for the fixture's three resizes: down to 56x40, up to
 * 150x110, and 61x130 (down in x, up in y). One level is 1 / (255 * std), about 0.017, in
 * pixel_values units. The PIL resampler (the default) differs by 0 everywhere.
 */
export const RESAMPLE_DIFFERENCE = {
  '56x40': { max: 16, mean: 0.42 },
  '150x110': { max: 152, mean: 7.97 },
  '61x130': { max: 133, mean: 10.15 },
} as const;

/** PIL resample codes -> (PIL filter, sharp kernel). */
const KERNELS: Record<number, [PilFilter, keyof sharp.KernelEnum]> = {
  0: ['nearest', 'nearest'],
  1: ['lanczos', 'lanczos3'],
  2: ['bilinear', 'linear'],
  3: ['bicubic', 'cubic'],
};

/** 'pil' (default): bit-exact with the reference; 'sharp': libvips' resize. */
export type Resampler = 'pil' | 'sharp';

function fail(source: string, message: string): never {
  throw new VlvError('E_FILE_FORMAT', `${source}: ${message}`);
}

function num(json: Record<string, unknown>, key: string, fallback: number, source: string): number {
  const v = json[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(source, `${key} must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function bool(json: Record<string, unknown>, key: string, fallback: boolean, source: string): boolean {
  const v = json[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') fail(source, `${key} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function triple(
  json: Record<string, unknown>,
  key: string,
  fallback: number[],
  source: string,
): [number, number, number] {
  const v = json[key] ?? fallback;
  const list = typeof v === 'number' ? [v, v, v] : v;
  if (!Array.isArray(list) || list.length !== 3 || !list.every((x) => typeof x === 'number' && Number.isFinite(x)))
    fail(source, `${key} must be a number or 3 numbers, got ${JSON.stringify(v)}`);
  return list as [number, number, number];
}

function hw(v: unknown, key: string, source: string): { height: number; width: number } {
  const o = v as { height?: unknown; width?: unknown };
  const ok = (x: unknown) => Number.isInteger(x) && (x as number) > 0;
  if (!o || typeof o !== 'object' || !ok(o.height) || !ok(o.width))
    fail(source, `${key} must be {"height": h, "width": w} with positive integers, got ${JSON.stringify(v)}`);
  return { height: o.height as number, width: o.width as number };
}

/** Reads a preprocessor_config.json object (CLIPImageProcessor defaults for absent fields). */
export function parseImageProcessorConfig(
  json: Record<string, unknown>,
  source = 'preprocessor_config.json',
): ImageProcessorConfig {
  const rawSize = json['size'] ?? { shortest_edge: 224 };
  let size: ImageProcessorConfig['size'];
  if (typeof rawSize === 'number') size = { shortestEdge: rawSize };
  else if (rawSize && typeof rawSize === 'object' && 'shortest_edge' in rawSize) {
    const s = rawSize.shortest_edge;
    if (!Number.isInteger(s) || (s as number) <= 0)
      fail(source, `size.shortest_edge must be a positive integer, got ${JSON.stringify(s)}`);
    size = { shortestEdge: s as number };
  } else size = hw(rawSize, 'size', source);
  const resample = num(json, 'resample', 3, source);
  if (!(resample in KERNELS))
    fail(source, `resample ${resample} is not supported (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic)`);
  const doCenterCrop = bool(json, 'do_center_crop', true, source);
  const rawCrop = json['crop_size'] ?? { height: 224, width: 224 };
  return {
    doResize: bool(json, 'do_resize', true, source),
    size,
    resample,
    doCenterCrop,
    cropSize: doCenterCrop
      ? typeof rawCrop === 'number'
        ? { height: rawCrop, width: rawCrop }
        : hw(rawCrop, 'crop_size', source)
      : null,
    doRescale: bool(json, 'do_rescale', true, source),
    rescaleFactor: num(json, 'rescale_factor', 1 / 255, source),
    doNormalize: bool(json, 'do_normalize', true, source),
    imageMean: triple(json, 'image_mean', [0.48145466, 0.4578275, 0.40821073], source),
    imageStd: triple(json, 'image_std', [0.26862954, 0.26130258, 0.27577711], source),
  };
}

/** An image: a file path, encoded bytes (PNG, JPEG, ...), or raw interleaved 8-bit pixels. */
export type ImageInput =
  string | Buffer | Uint8Array | { data: Uint8Array; width: number; height: number; channels: 1 | 2 | 3 | 4 };

/** An 8-bit RGB image, interleaved (HWC). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

function open(input: ImageInput): sharp.Sharp {
  if (typeof input === 'string' || Buffer.isBuffer(input)) return sharp(input);
  if (input instanceof Uint8Array) return sharp(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  return sharp(Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength), {
    raw: { width: input.width, height: input.height, channels: input.channels },
  });
}

async function toRgb(pipeline: sharp.Sharp): Promise<RgbImage> {
  const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels === 3)
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
    };
  if (info.channels !== 1) throw new VlvError('E_ARG', `image: ${info.channels} channels after RGB conversion`);
  const rgb = new Uint8Array(info.width * info.height * 3);
  for (let i = 0; i < info.width * info.height; ++i) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = data[i]!;
  return { data: rgb, width: info.width, height: info.height };
}

/** The output size of the resize step for an image of (width, height). */
export function resizedSize(
  cfg: ImageProcessorConfig,
  width: number,
  height: number,
): { width: number; height: number } {
  if (!cfg.doResize) return { width, height };
  if ('height' in cfg.size) return { width: cfg.size.width, height: cfg.size.height };
  // transformers' get_resize_output_image_size(default_to_square=False): the short side
  // becomes shortest_edge, the long side int(shortest_edge * long / short).
  const s = cfg.size.shortestEdge;
  return width <= height
    ? { width: s, height: Math.trunc((s * height) / width) }
    : { width: Math.trunc((s * width) / height), height: s };
}

/** Decodes and resizes (and centre-crops) an image as the config says: 8-bit RGB. */
export async function resizeImage(
  input: ImageInput,
  cfg: ImageProcessorConfig,
  resampler: Resampler = 'pil',
): Promise<RgbImage> {
  let pipeline = open(input);
  let rgb: RgbImage;
  if (resampler === 'sharp') {
    const meta = await pipeline.metadata();
    if (!meta.width || !meta.height) throw new VlvError('E_ARG', 'image: cannot read its size');
    const { width, height } = resizedSize(cfg, meta.width, meta.height);
    // fastShrinkOnLoad off: decode the whole JPEG as PIL does, then resize.
    if (width !== meta.width || height !== meta.height)
      pipeline = pipeline.resize(width, height, {
        fit: 'fill',
        kernel: KERNELS[cfg.resample]![1],
        fastShrinkOnLoad: false,
      });
    rgb = await toRgb(pipeline);
  } else {
    rgb = await toRgb(pipeline);
    const { width, height } = resizedSize(cfg, rgb.width, rgb.height);
    rgb = {
      data: pilResize(rgb.data, rgb.width, rgb.height, 3, width, height, KERNELS[cfg.resample]![0]),
      width,
      height,
    };
  }
  if (cfg.cropSize) rgb = centerCrop(rgb, cfg.cropSize);
  return rgb;
}

/** transformers' center_crop for a crop inside the image (top = (h - ch) // 2, left likewise); pads with 0 otherwise. */
function centerCrop(img: RgbImage, crop: { height: number; width: number }): RgbImage {
  const top = Math.floor((img.height - crop.height) / 2),
    left = Math.floor((img.width - crop.width) / 2);
  const out = new Uint8Array(crop.width * crop.height * 3);
  for (let y = 0; y < crop.height; ++y)
    for (let x = 0; x < crop.width; ++x) {
      const sy = y + top,
        sx = x + left;
      if (sy < 0 || sx < 0 || sy >= img.height || sx >= img.width) continue;
      for (let c = 0; c < 3; ++c) out[(y * crop.width + x) * 3 + c] = img.data[(sy * img.width + sx) * 3 + c]!;
    }
  return { data: out, width: crop.width, height: crop.height };
}

/** Rescale and normalise an RGB image into channels-first float32 [3, H, W] (float32 math, as numpy there). */
export function normalizeImage(img: RgbImage, cfg: ImageProcessorConfig): Float32Array {
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  const f = Math.fround;
  for (let c = 0; c < 3; ++c) {
    const mean = f(cfg.doNormalize ? cfg.imageMean[c]! : 0),
      std = f(cfg.doNormalize ? cfg.imageStd[c]! : 1);
    for (let i = 0; i < plane; ++i) {
      const v = img.data[i * 3 + c]!;
      const x = cfg.doRescale ? f(v * cfg.rescaleFactor) : v;
      out[c * plane + i] = cfg.doNormalize ? f(f(x - mean) / std) : x;
    }
  }
  return out;
}

/** The whole pipeline for one image: float32 [3, H, W] and its size. */
export async function preprocessImage(
  input: ImageInput,
  cfg: ImageProcessorConfig,
  resampler: Resampler = 'pil',
): Promise<{ data: Float32Array; width: number; height: number }> {
  const rgb = await resizeImage(input, cfg, resampler);
  return { data: normalizeImage(rgb, cfg), width: rgb.width, height: rgb.height };
}
