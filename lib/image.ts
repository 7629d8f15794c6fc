/**
 * Image files <-> tensors through sharp. Tensors are RGB [B, 3, H, W] (or [3, H, W]) f32 in
 * [0, 1]; to 8 bits as diffusers' numpy_to_pil does: round(x * 255) after clamping.
 */
import sharp from 'sharp';
import { VlvError } from './errors.js';
import { Tensor } from './tensor.js';

interface Planar {
  data: Float32Array;
  height: number;
  width: number;
}

function planarImage(t: Tensor, index: number): Planar {
  if (t.dtype !== 'f32') throw new VlvError('E_DTYPE', `image: tensor must be f32, got ${t.dtype}`);
  const s = t.shape;
  const dims = s.length === 3 ? [1, ...s] : s;
  if (dims.length !== 4 || dims[1] !== 3)
    throw new VlvError('E_SHAPE', `image: tensor must be [B, 3, H, W] or [3, H, W], got [${s.join(', ')}]`);
  const [batch, , height, width] = dims as [number, number, number, number];
  if (!Number.isInteger(index) || index < 0 || index >= batch)
    throw new VlvError('E_ARG', `image: index ${index} is outside the batch of ${batch}`);
  const plane = 3 * height * width;
  const all = t.toArray() as Float32Array;
  return { data: all.subarray(index * plane, (index + 1) * plane), height, width };
}

function toRgb8({ data, height, width }: Planar): Buffer {
  const hw = height * width;
  const out = Buffer.alloc(3 * hw);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < hw; i++) {
      const v = data[c * hw + i]!;
      out[3 * i + c] = Math.round(Math.min(1, Math.max(0, Number.isNaN(v) ? 0 : v)) * 255);
    }
  return out;
}

function encoder(t: Tensor, index: number): sharp.Sharp {
  const p = planarImage(t, index);
  return sharp(toRgb8(p), { raw: { width: p.width, height: p.height, channels: 3 } });
}

/** PNG bytes of image `index` of the batch (default 0). */
export async function tensorToPng(t: Tensor, index = 0): Promise<Buffer> {
  return encoder(t, index).png().toBuffer();
}

/** JPEG bytes of image `index` of the batch (default 0); quality 1..100 (default 90). */
export async function tensorToJpeg(t: Tensor, index = 0, quality = 90): Promise<Buffer> {
  if (!Number.isInteger(quality) || quality < 1 || quality > 100)
    throw new VlvError('E_ARG', `tensorToJpeg: quality must be an integer in [1, 100], got ${quality}`);
  return encoder(t, index).jpeg({ quality }).toBuffer();
}

export interface ImageToTensorOptions {
  /** Resize to this size (both, or neither: the image's own size). */
  width?: number;
  height?: number;
}

/** An image file (path or bytes, any format sharp reads) as RGB [1, 3, H, W] f32 in [0, 1]. */
export async function imageToTensor(input: string | Buffer, opts: ImageToTensorOptions = {}): Promise<Tensor> {
  if ((opts.width === undefined) !== (opts.height === undefined))
    throw new VlvError('E_ARG', 'imageToTensor: give both width and height, or neither');
  let img = sharp(input).removeAlpha().toColourspace('srgb');
  if (opts.width !== undefined) img = img.resize(opts.width, opts.height, { fit: 'fill' });
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await img.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new VlvError('E_FILE_FORMAT', `imageToTensor: cannot decode the image: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const { width, height, channels } = raw.info;
  const hw = width * height;
  const out = new Float32Array(3 * hw);
  for (let i = 0; i < hw; i++)
    for (let c = 0; c < 3; c++) out[c * hw + i] = raw.data[channels * i + Math.min(c, channels - 1)]! / 255;
  return Tensor.from(out, [1, 3, height, width]);
}
