// Florence-2's processor (lib/vision): task prompts as processing_florence2.py expands them, the
// BART tokenizer with the processor's added tokens, and the image preprocessing checked against
// Pillow's numbers committed in test/fixtures/vision (scripts/fixtures/gen_florence2_preprocess.py;
// no PIL needed here): the default PIL resampler bit for bit, sharp's within its documented gap.
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VlvError } from '../../lib/index.js';
import { constructPrompt, Florence2Processor, FLORENCE2_ADDED_TOKENS } from '../../lib/vision/florence2-processor.js';
import {
  parseImageProcessorConfig,
  preprocessImage,
  resizeImage,
  RESAMPLE_DIFFERENCE,
} from '../../lib/vision/image-preprocess.js';
import { pilResize } from '../../lib/vision/pil-resample.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'vision');
const meta = JSON.parse(readFileSync(join(dir, 'florence2-preprocess.json'), 'utf8')) as {
  image: string;
  sizes: { width: number; height: number; resized_u8: string; pixel_values_f32?: string }[];
};
const image = join(dir, meta.image);

// Florence-2-large's preprocessor_config.json (hub), with the size swapped per case.
const florenceConfig = (width = 768, height = 768) => ({
  crop_size: { height: 768, width: 768 },
  do_center_crop: false,
  do_convert_rgb: null,
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  image_mean: [0.485, 0.456, 0.406],
  image_processor_type: 'CLIPImageProcessor',
  image_seq_length: 577,
  image_std: [0.229, 0.224, 0.225],
  processor_class: 'Florence2Processor',
  resample: 3,
  rescale_factor: 0.00392156862745098,
  size: { height, width },
});

test('task tokens expand as processing_florence2.py does', (t) => {
  t.is(constructPrompt('<CAPTION>'), 'What does the image describe?');
  t.is(constructPrompt('<DETAILED_CAPTION>'), 'Describe in detail what is shown in the image.');
  t.is(constructPrompt('<MORE_DETAILED_CAPTION>'), 'Describe with a paragraph what is shown in the image.');
  t.is(constructPrompt('<OD>'), 'Locate the objects with category name in the image.');
  t.is(constructPrompt('<OPEN_VOCABULARY_DETECTION>a $& cat'), 'Locate a $& cat in the image.');
  t.is(constructPrompt('<CAPTION_TO_PHRASE_GROUNDING>A dog.'), 'Locate the phrases in the caption: A dog.');
  t.is(constructPrompt('a plain prompt'), 'a plain prompt');
  const e = t.throws(() => constructPrompt('<CAPTION> of a dog'));
  t.true(e instanceof VlvError && e.code === 'E_ARG' && e.message.includes('<CAPTION>'), e?.message);
  t.is(FLORENCE2_ADDED_TOKENS.length, 51289 - 50265);
});

test('the PIL resampler equals Pillow bit for bit; sharp differs as documented', async (t) => {
  for (const s of meta.sizes) {
    const ref = readFileSync(join(dir, s.resized_u8));
    const cfg = parseImageProcessorConfig(florenceConfig(s.width, s.height));
    const pil = await resizeImage(image, cfg);
    t.deepEqual(Buffer.from(pil.data), ref, `${s.width}x${s.height}`);
    const viaSharp = await resizeImage(image, cfg, 'sharp');
    let max = 0,
      sum = 0;
    for (let i = 0; i < ref.length; ++i) {
      const d = Math.abs(ref[i]! - viaSharp.data[i]!);
      max = Math.max(max, d);
      sum += d;
    }
    const doc = RESAMPLE_DIFFERENCE[`${s.width}x${s.height}` as keyof typeof RESAMPLE_DIFFERENCE];
    t.log(`sharp vs PIL ${s.width}x${s.height}: max ${max}, mean ${(sum / ref.length).toFixed(3)} levels`);
    t.true(
      max <= doc.max + 2 && Math.abs(sum / ref.length - doc.mean) < 0.1,
      `${s.width}x${s.height}: ${max} ${sum / ref.length}`,
    );
  }
  // Other filters and a raw input run (no reference here: sizes and determinism only).
  const raw = {
    data: Uint8Array.from({ length: 5 * 4 * 3 }, (_, i) => (i * 37) % 256),
    width: 5,
    height: 4,
    channels: 3 as const,
  };
  for (const f of ['nearest', 'bilinear', 'lanczos'] as const)
    t.is(pilResize(raw.data, 5, 4, 3, 7, 3, f).length, 7 * 3 * 3);
  t.throws(() => pilResize(raw.data, 5, 4, 3, 0, 3, 'bicubic'), { message: /positive/ });
});

test('pixel_values: rescale and normalise match the reference in float32', async (t) => {
  const s = meta.sizes[0]!;
  const ref = new Float32Array(readFileSync(join(dir, s.pixel_values_f32!)).buffer.slice(0));
  const { data, width, height } = await preprocessImage(
    image,
    parseImageProcessorConfig(florenceConfig(s.width, s.height)),
  );
  t.deepEqual([width, height], [s.width, s.height]);
  let max = 0;
  for (let i = 0; i < ref.length; ++i) max = Math.max(max, Math.abs(ref[i]! - data[i]!));
  t.true(max <= 1e-6, `max |diff| ${max}`);
});

test('preprocessor_config.json: errors name the field', (t) => {
  const bad = (edit: Record<string, unknown>, re: RegExp) => {
    const e = t.throws(() => parseImageProcessorConfig({ ...florenceConfig(), ...edit }, 'x.json'));
    t.true(e instanceof VlvError && e.code === 'E_FILE_FORMAT' && re.test(e.message), e?.message);
  };
  bad({ resample: 4 }, /resample 4/);
  bad({ size: { height: 0, width: 3 } }, /size/);
  bad({ image_mean: [1, 2] }, /image_mean/);
  const clip = parseImageProcessorConfig({ size: { shortest_edge: 224 }, crop_size: 224 });
  t.deepEqual(clip.size, { shortestEdge: 224 });
  t.deepEqual(clip.cropSize, { height: 224, width: 224 });
});

// A Florence-2-like folder: a tiny BART vocabulary (bytes + a few merges) and the real preprocessor config.
function bartFolder(): string {
  const table: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  const merges: [string, string][] = [
    ['Ġ', 't'],
    ['h', 'e'],
    ['Ġt', 'he'],
    ['Ġ', 'i'],
  ];
  const vocab: Record<string, number> = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 };
  for (const c of table) vocab[c] = Object.keys(vocab).length;
  for (const [a, b] of merges) vocab[a + b] = Object.keys(vocab).length;
  vocab['<mask>'] = Object.keys(vocab).length;
  const d = mkdtempSync(join(tmpdir(), 'vlv-florence2-proc-'));
  writeFileSync(join(d, 'vocab.json'), JSON.stringify(vocab));
  writeFileSync(join(d, 'merges.txt'), '#version: 0.2\n' + merges.map((m) => m.join(' ')).join('\n') + '\n');
  writeFileSync(
    join(d, 'tokenizer_config.json'),
    JSON.stringify({ tokenizer_class: 'BartTokenizer', model_max_length: 1024 }),
  );
  writeFileSync(join(d, 'preprocessor_config.json'), JSON.stringify(florenceConfig(32, 24)));
  return d;
}

test('processor: prompts tokenised with <s> ... </s>, padded; added tokens after the vocabulary; pixel_values [B,3,H,W]', async (t) => {
  const p = await Florence2Processor.load(bartFolder());
  const n = 4 + 256 + 4 + 1;
  t.is(p.tokenizer.vocabSize, n + FLORENCE2_ADDED_TOKENS.length);
  t.is(p.tokenizer.tokenToId('<od>'), n);
  t.is(p.tokenizer.tokenToId('<loc_0>'), n + 4);
  t.is(p.tokenizer.tokenToId('<and>'), n + FLORENCE2_ADDED_TOKENS.length - 1);
  const out = await p.process(['<OD>', 'the'], [image, image]);
  t.deepEqual(out.pixelValues.shape, [2, 3, 24, 32]);
  const ids = Array.from(out.inputIds.toArray() as BigInt64Array, Number);
  const len = out.inputIds.shape[1]!;
  const first = ids.slice(0, len);
  t.is(first[0], 0);
  t.is(p.decode(first, { skipSpecialTokens: true }), 'Locate the objects with category name in the image.');
  t.deepEqual(ids.slice(len, len + 3), [0, p.tokenizer.tokenToId('t'), p.tokenizer.tokenToId('he')]);
  t.is(ids[len + 4], 1, 'the short row is padded with <pad>');
  t.is(
    Array.from(out.attentionMask.toArray() as BigInt64Array, Number)
      .slice(len)
      .filter((v) => v === 1).length,
    4,
  );
  t.is(p.decode([0, n + 4, n + 1003, 2]), '<s><loc_0><loc_999></s>');
  await t.throwsAsync(p.process(['<CAPTION>', 'x'], [image]), { message: /1 images for 2 prompts/ });
});
