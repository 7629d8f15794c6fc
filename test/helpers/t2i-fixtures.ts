/**
 * The tiny diffusers pipeline the t2i / vae training tests train: the golden UNet, VAE and CLIP
 * text encoder (all 64 wide: the text encoder's hidden_size = the UNet's cross_attention_dim;
 * the golden vlv_stage1 parts are 48 wide but their weights live inside the VLV checkpoint and
 * its scheduler is a PNDM), the CLIP tokenizer of the golden vlv_stage1 folder (514 ids, below
 * the text encoder's vocabulary of 1000), and a golden DDPM scheduler config. Made as a folder
 * of symlinks with a model_index.json; and a JSONL of (image, caption) pairs.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goldenPath } from './golden.js';
import { makeImages } from './memory-loader.js';

export function makePipeline(dir: string, prediction: 'epsilon' | 'v_prediction' = 'epsilon'): string {
  mkdirSync(dir, { recursive: true });
  symlinkSync(goldenPath('unet'), join(dir, 'unet'));
  symlinkSync(goldenPath('vae'), join(dir, 'vae'));
  symlinkSync(goldenPath('clip_text'), join(dir, 'text_encoder'));
  symlinkSync(join(goldenPath('vlv_stage1'), 'tokenizer'), join(dir, 'tokenizer'));
  symlinkSync(join(goldenPath('schedulers'), `ddpm-${prediction}`), join(dir, 'scheduler'));
  const index = {
    _class_name: 'StableDiffusionPipeline',
    _diffusers_version: '0.33.1',
    unet: ['diffusers', 'UNet2DConditionModel'],
    vae: ['diffusers', 'AutoencoderKL'],
    text_encoder: ['transformers', 'CLIPTextModel'],
    tokenizer: ['transformers', 'CLIPTokenizer'],
    scheduler: ['diffusers', 'DDPMScheduler'],
    safety_checker: [null, null],
    feature_extractor: [null, null],
  };
  writeFileSync(join(dir, 'model_index.json'), `${JSON.stringify(index, null, 2)}\n`);
  return dir;
}

export const CAPTIONS = ['red stripes', 'a green field', 'blue sky at noon', 'yellow and black'];

/** `n` generated images and a pairs.jsonl captioning them; returns the JSONL's path. */
export async function makePairs(dir: string, n = 4): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const files = await makeImages(dir, n, 20, 16);
  const lines = files.map((f, i) => JSON.stringify({ image: f, caption: CAPTIONS[i % CAPTIONS.length] }));
  const path = join(dir, 'pairs.jsonl');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}
