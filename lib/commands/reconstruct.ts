/**
 * `vlv reconstruct img.jpg [more...] --model <VLV folder> --out rec.png [--side-by-side]
 * [--steps 50] [--guidance 2] [--seed 0] [--scheduler ddpm|ddim|euler|dpmpp2m] [--size S]`:
 * the stage-1 round trip (lib/vlv/pipelines.ts `reconstruct`), or from an embedding file
 * (`--embedding emb.safetensors`, what `vlv embed` writes: its `z`, else its `c`).
 * --side-by-side puts the crop the encoder saw and the reconstruction in one image (the
 * reconstruction scaled to the crop's size when they differ). With several images (or
 * embedding rows) the outputs are numbered: rec-0.png, rec-1.png, ...
 */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import { VlvError } from '../errors.js';
import { tensorToJpeg, tensorToPng } from '../image.js';
import { loadSafetensors } from '../safetensors.js';
import type { Tensor } from '../tensor.js';
import type { RgbImage } from '../vlv/images.js';
import { reconstruct, type ReconstructResult } from '../vlv/pipelines.js';
import { pilResize } from '../vision/pil-resample.js';
import {
  choiceFlag,
  loadModel,
  MODEL_FLAGS,
  MODEL_USAGE,
  numberFlag,
  parseArgs,
  pipelineFlags,
  stderrProgress,
  withInterrupt,
} from './vlv-common.js';

const USAGE = `usage: vlv reconstruct (<image> [more images...] | --embedding emb.safetensors) ${MODEL_USAGE}
                   [--out rec.png|.jpg] [--side-by-side] [--steps 50] [--guidance 2] [--seed 0]
                   [--scheduler ddpm|ddim|euler|dpmpp2m] [--size S]`;

/** Image `i` of a [B, 3, H, W] tensor in [0, 1] as 8-bit interleaved RGB. */
function rgbOf(t: Tensor, i: number): RgbImage {
  const [, , h, w] = t.shape as [number, number, number, number];
  const all = t.toFloat32();
  const n = h * w;
  const data = new Uint8Array(3 * n);
  for (let c = 0; c < 3; c++)
    for (let p = 0; p < n; p++) {
      const v = all[(i * 3 + c) * n + p]!;
      data[3 * p + c] = Math.round(Math.min(1, Math.max(0, Number.isNaN(v) ? 0 : v)) * 255);
    }
  return { data, width: w, height: h };
}

/** The crop and the reconstruction in one image: [crop | reconstruction], the latter at the crop's size. */
async function sideBySide(crop: RgbImage, rec: RgbImage, ext: string): Promise<Buffer> {
  const r =
    rec.width === crop.width && rec.height === crop.height
      ? rec
      : {
          data: pilResize(rec.data, rec.width, rec.height, 3, crop.width, crop.height, 'bicubic'),
          width: crop.width,
          height: crop.height,
        };
  const w = crop.width * 2,
    h = crop.height;
  const out = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    out.set(crop.data.subarray(y * crop.width * 3, (y + 1) * crop.width * 3), y * w * 3);
    out.set(r.data.subarray(y * crop.width * 3, (y + 1) * crop.width * 3), y * w * 3 + crop.width * 3);
  }
  const img = sharp(out, { raw: { width: w, height: h, channels: 3 } });
  return ext === '.jpg' || ext === '.jpeg' ? img.jpeg({ quality: 90 }).toBuffer() : img.png().toBuffer();
}

/** Output path of row i of n: `out` itself for one, else `<stem>-<i><ext>`. */
function outPath(out: string, i: number, n: number): string {
  if (n === 1) return out;
  const ext = extname(out);
  return `${out.slice(0, out.length - ext.length)}-${i}${ext}`;
}

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(
    args,
    {
      values: [...MODEL_FLAGS, 'out', 'embedding', 'steps', 'guidance', 'seed', 'scheduler', 'size', 'eta'],
      switches: ['side-by-side'],
    },
    USAGE,
  );
  const embedding = p.values.get('embedding');
  if ((embedding === undefined) === (p.positional.length === 0))
    throw new VlvError('E_ARG', `give images or --embedding (not both)\n${USAGE}`);
  const sbs = p.switches.has('side-by-side');
  if (sbs && embedding !== undefined)
    throw new VlvError('E_ARG', '--side-by-side needs input images (an embedding has no picture to show beside)');
  const out = p.values.get('out') ?? 'reconstruction.png';
  const ext = extname(out).toLowerCase();
  const steps = numberFlag(p, 'steps', true);
  const guidance = numberFlag(p, 'guidance');
  const seed = numberFlag(p, 'seed', true);
  const size = numberFlag(p, 'size', true);
  const eta = numberFlag(p, 'eta');
  const scheduler = choiceFlag(p, 'scheduler', ['ddpm', 'ddim', 'euler', 'dpmpp2m'] as const);
  const opts = {
    ...pipelineFlags(p),
    ...(steps !== undefined ? { steps } : {}),
    ...(guidance !== undefined ? { guidance } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(size !== undefined ? { size } : {}),
    ...(eta !== undefined ? { eta } : {}),
    ...(scheduler ? { scheduler } : {}),
  };

  let source: Parameters<typeof reconstruct>[1] = p.positional;
  let loaded: Tensor[] = [];
  if (embedding !== undefined) {
    const file = await loadSafetensors(embedding);
    loaded = Object.values(file.tensors);
    const t = file.tensors.z ?? file.tensors.c;
    if (!t) throw new VlvError('E_ARG', `${embedding}: no tensor named "z" or "c" (what vlv embed writes)`);
    source = file.tensors.z ? { z: t } : { c: t };
  }
  const model = await loadModel(p, 'reconstruct', USAGE);
  const progress = stderrProgress();
  let r: ReconstructResult;
  try {
    r = await withInterrupt((signal) =>
      reconstruct(model, source, { ...opts, signal, onProgress: progress.onProgress }),
    );
  } finally {
    progress.end();
    model.dispose();
    for (const t of loaded) t.dispose();
  }
  try {
    const n = r.images.shape[0]!;
    for (let i = 0; i < n; i++) {
      const path = outPath(out, i, n);
      const bytes =
        sbs && r.crops
          ? await sideBySide(r.crops[i]!, rgbOf(r.images, i), ext)
          : ext === '.jpg' || ext === '.jpeg'
            ? await tensorToJpeg(r.images, i)
            : await tensorToPng(r.images, i);
      await writeFile(path, bytes);
      const meta = await sharp(bytes).metadata();
      console.log(`${path}: ${meta.width}x${meta.height} (${r.files[i]})`);
    }
  } finally {
    r.images.dispose();
  }
  return 0;
}
