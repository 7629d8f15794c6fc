/**
 * `vlv embed img.jpg [more...] --model <VLV folder> --out emb.safetensors`: the caption
 * embedding z and CLIP's output c of each image (lib/vlv/pipelines.ts `embed`) in one
 * safetensors file: `z` and `c` [B, N, D] f32, the metadata naming the images in row order
 * (`files`, a JSON array) and the model folder. `vlv reconstruct --embedding` reads it back.
 */
import { VlvError } from '../errors.js';
import { saveSafetensors } from '../safetensors.js';
import { Tensor } from '../tensor.js';
import { embed } from '../vlv/pipelines.js';
import {
  loadModel,
  MODEL_FLAGS,
  MODEL_USAGE,
  parseArgs,
  pipelineFlags,
  stderrProgress,
  withInterrupt,
} from './vlv-common.js';

const USAGE = `usage: vlv embed <image> [more images...] ${MODEL_USAGE} [--out embeddings.safetensors]`;

/** The metadata `format` of an embedding file. */
export const EMBEDDING_FORMAT = 'vlv-embedding';

/** A host f32 copy (the engine may hand back a device or bf16 tensor). */
const hostF32 = (t: Tensor) => Tensor.from(t.toFloat32(), t.shape, 'f32');

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args, { values: [...MODEL_FLAGS, 'out'] }, USAGE);
  if (p.positional.length === 0) throw new VlvError('E_ARG', `no images\n${USAGE}`);
  const out = p.values.get('out') ?? 'embeddings.safetensors';
  const model = await loadModel(p, 'embed', USAGE);
  const progress = stderrProgress();
  try {
    const r = await withInterrupt((signal) =>
      embed(model, p.positional, { ...pipelineFlags(p), signal, onProgress: progress.onProgress }),
    );
    progress.end();
    const z = hostF32(r.z),
      c = hostF32(r.c);
    r.z.dispose();
    r.c.dispose();
    await saveSafetensors(
      out,
      { z, c },
      { format: EMBEDDING_FORMAT, files: JSON.stringify(r.files), model: model.folder.root },
    );
    console.log(`${out}: z [${z.shape.join(', ')}], c [${c.shape.join(', ')}] for ${r.files.length} images`);
    z.dispose();
    c.dispose();
    return 0;
  } finally {
    progress.end();
    model.dispose();
  }
}
