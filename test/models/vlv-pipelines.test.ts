// The VLV pipelines (lib/vlv/): image decoding (EXIF, alpha, grey, 16-bit, CMYK, bad files), the
// official stage-1 transform against an independent PyTorch computation
// (scripts/fixtures/gen_vlv_transform.py), Florence-2's processor on the golden preprocess case,
// the official caption post-processing, and the pipelines end to end on the golden tiny folders.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Progress } from '../../lib/call-options.js';
import { VlvError } from '../../lib/errors.js';
import { loadTokenizer } from '../../lib/tokenizer-files.js';
import { processCaption } from '../../lib/vlv/caption-text.js';
import {
  centerCropOffsets,
  readImage,
  resizeShorterSide,
  stage1Crop,
  VlvImageProcessor,
  type RawImage,
  type RgbImage,
} from '../../lib/vlv/images.js';
import { resolveVlvFolder } from '../../lib/vlv/folder.js';
import { VlvModel } from '../../lib/vlv/model.js';
import { caption, embed, reconstruct, unconditionalIds, type CaptionResult } from '../../lib/vlv/pipelines.js';
import { readFixture } from '../helpers/fixture-file.js';
import { goldenPath } from '../helpers/golden.js';

const tmp = mkdtempSync(join(tmpdir(), 'vlv-pipelines-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

const vision = join(import.meta.dirname, '..', 'fixtures', 'vision');

/** A 4x2 RGB image: the left half red, the right half blue. */
function halves(): Buffer {
  const px = Buffer.alloc(4 * 2 * 3);
  for (let y = 0; y < 2; y++)
    for (let x = 0; x < 4; x++) {
      const i = (y * 4 + x) * 3;
      if (x < 2) px[i] = 255;
      else px[i + 2] = 255;
    }
  return px;
}

// ------------------------------------------------------------------ decoding

test('EXIF orientation is applied (a JPEG tagged 6 comes out rotated 90 degrees clockwise)', async (t) => {
  const jpeg = await sharp(halves(), { raw: { width: 4, height: 2, channels: 3 } })
    .jpeg({ quality: 100 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  t.is((await sharp(jpeg).metadata()).orientation, 6);
  const { rgb } = await readImage(jpeg);
  t.deepEqual([rgb.width, rgb.height], [2, 4]);
  // The left (red) column is now the top row, the right (blue) one the bottom row.
  const at = (x: number, y: number) => Array.from(rgb.data.subarray((y * 2 + x) * 3, (y * 2 + x) * 3 + 3));
  for (const x of [0, 1]) {
    t.true(at(x, 0)[0]! > 240 && at(x, 0)[2]! < 15, String(at(x, 0)));
    t.true(at(x, 3)[2]! > 240 && at(x, 3)[0]! < 15, String(at(x, 3)));
  }
});

test('alpha is dropped without blending (PIL convert("RGB")), grey becomes R = G = B', async (t) => {
  const rgba = await sharp(Buffer.from([10, 20, 30, 0, 40, 50, 60, 128]), {
    raw: { width: 2, height: 1, channels: 4 },
  })
    .png()
    .toBuffer();
  t.is((await sharp(rgba).metadata()).channels, 4);
  t.deepEqual(Array.from((await readImage(rgba)).rgb.data), [10, 20, 30, 40, 50, 60]);
  const grey = await sharp(Buffer.from([7, 200]), { raw: { width: 2, height: 1, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  t.is((await sharp(grey).metadata()).channels, 1);
  t.deepEqual(Array.from((await readImage(grey)).rgb.data), [7, 7, 7, 200, 200, 200]);
  const greyAlpha = await sharp(Buffer.from([7, 0, 200, 255]), { raw: { width: 2, height: 1, channels: 2 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  t.deepEqual(Array.from((await readImage(greyAlpha)).rgb.data), [7, 7, 7, 200, 200, 200]);
  // Raw pixels too, with a name.
  const raw = await readImage({ data: new Uint8Array([1, 2, 3, 9, 4, 5, 6, 9]), width: 2, height: 1, channels: 4 });
  t.deepEqual(Array.from(raw.rgb.data), [1, 2, 3, 4, 5, 6]);
});

test('16-bit PNGs (RGB and grey) become 8-bit; CMYK JPEGs become sRGB', async (t) => {
  const rgb16 = await sharp(halves(), { raw: { width: 4, height: 2, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toBuffer();
  t.is((await sharp(rgb16).metadata()).depth, 'ushort');
  const a = await readImage(rgb16);
  t.deepEqual(Array.from(a.rgb.data.subarray(0, 12)), [255, 0, 0, 255, 0, 0, 0, 0, 255, 0, 0, 255]);
  const grey16 = await sharp(Buffer.from([7, 200]), { raw: { width: 2, height: 1, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toBuffer();
  t.is((await sharp(grey16).metadata()).depth, 'ushort');
  t.deepEqual(Array.from((await readImage(grey16)).rgb.data), [7, 7, 7, 200, 200, 200]);
  const cmyk = await sharp(halves(), { raw: { width: 4, height: 2, channels: 3 } })
    .toColourspace('cmyk')
    .jpeg({ quality: 100 })
    .toBuffer();
  t.is((await sharp(cmyk).metadata()).space, 'cmyk');
  const c = await readImage(cmyk);
  t.is(c.rgb.data.length, 4 * 2 * 3);
  // Through a generic CMYK profile and back: red stays red-dominant, blue blue-dominant.
  t.true(c.rgb.data[0]! > 180 && c.rgb.data[1]! < 60, String(c.rgb.data.subarray(0, 3)));
  t.true(
    c.rgb.data[11]! > 2 * c.rgb.data[9]! && c.rgb.data[11]! > 2 * c.rgb.data[10]!,
    String(c.rgb.data.subarray(9, 12)),
  );
});

test('an unreadable input is a VlvError naming it: E_FILE when missing, E_FILE_FORMAT when not an image', async (t) => {
  const missing = join(tmp, 'missing.png');
  const e1 = await t.throwsAsync(readImage(missing));
  t.true(e1 instanceof VlvError && e1.code === 'E_FILE', String(e1));
  t.true(e1.message.includes(missing), e1.message);
  const junk = join(tmp, 'junk.jpg');
  writeFileSync(junk, 'not an image at all');
  const e2 = await t.throwsAsync(readImage(junk));
  t.true(e2 instanceof VlvError && e2.code === 'E_FILE_FORMAT', String(e2));
  t.true(e2.message.includes(junk), e2.message);
  const e3 = await t.throwsAsync(readImage(tmp));
  t.true(e3 instanceof VlvError && e3.code === 'E_FILE' && e3.message.includes(tmp), String(e3));
  const e4 = await t.throwsAsync(readImage({ data: new Uint8Array(5), width: 2, height: 1, channels: 3, name: 'x' }));
  t.true(e4 instanceof VlvError && e4.code === 'E_SHAPE' && e4.message.startsWith('x:'), String(e4));
});

// ------------------------------------------------------------------ the stage-1 transform

test('Resize(size) sizes and CenterCrop offsets follow torchvision (Python round: halves to even)', (t) => {
  t.deepEqual(resizeShorterSide(123, 87, 100), { width: 141, height: 100 });
  t.deepEqual(resizeShorterSide(87, 123, 40), { width: 40, height: 56 });
  t.deepEqual(resizeShorterSide(640, 480, 384), { width: 512, height: 384 });
  t.deepEqual(resizeShorterSide(384, 384, 384), { width: 384, height: 384 });
  t.deepEqual(centerCropOffsets(141, 100, 100), { left: 20, top: 0 }); // 20.5 -> 20
  t.deepEqual(centerCropOffsets(93, 66, 66), { left: 14, top: 0 }); // 13.5 -> 14
  t.deepEqual(centerCropOffsets(40, 56, 40), { left: 0, top: 8 });
});

test('stage1Crop matches an independent PyTorch resize + crop (within one level of PIL fixed point)', async (t) => {
  const meta = JSON.parse(readFileSync(join(vision, 'vlv-transform.json'), 'utf8')) as {
    cases: { name: string; size: number; transposed: boolean; crop_u8: string; resized: number[] }[];
  };
  const src = await readImage(join(vision, 'florence2-test.png'));
  const transpose = (im: RgbImage): RgbImage => {
    const out = new Uint8Array(im.data.length);
    for (let y = 0; y < im.height; y++)
      for (let x = 0; x < im.width; x++)
        for (let c = 0; c < 3; c++) out[(x * im.height + y) * 3 + c] = im.data[(y * im.width + x) * 3 + c]!;
    return { data: out, width: im.height, height: im.width };
  };
  for (const c of meta.cases) {
    const img = c.transposed ? transpose(src.rgb) : src.rgb;
    t.deepEqual(resizeShorterSide(img.width, img.height, c.size), { width: c.resized[0]!, height: c.resized[1]! });
    const ours = stage1Crop(img, c.size);
    const ref = readFileSync(join(vision, c.crop_u8));
    t.is(ours.data.length, ref.length, c.name);
    let max = 0,
      sum = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(ours.data[i]! - ref[i]!);
      max = Math.max(max, d);
      sum += d;
    }
    t.true(max <= 1, `${c.name}: max |diff| ${max}`);
    t.log(`${c.name}: max ${max}, mean ${(sum / ref.length).toFixed(3)}`);
    t.true(sum / ref.length < 0.25, `${c.name}: mean |diff| ${sum / ref.length}`);
  }
});

test('the image processor: crop side from the folder (tiny Florence-2: 64), Florence-2 pixels as the golden preprocess case', async (t) => {
  const proc = await VlvImageProcessor.load(goldenPath('vlv_stage1', 'florence2'));
  t.is(proc.imageSize, 64);
  t.is((await VlvImageProcessor.load(goldenPath('vlv_stage1', 'florence2'), { imageSize: 384 })).imageSize, 384);
  const fx = readFixture(goldenPath('vlv_stage1', 'cases.safetensors')).tensors;
  const image = fx.get('preprocess.in.image')!; // [B, 3, H, W] uint8 values stored as F32
  const [b, , h, w] = image.shape as [number, number, number, number];
  const values = new Float32Array(image.bytes.slice().buffer);
  const decoded = Array.from({ length: b }, (_, i) => {
    const data = new Uint8Array(h * w * 3);
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < h * w; p++) data[p * 3 + c] = values[((i * 3 + c) * h * w + p) | 0]!;
    return { file: `case ${i}`, rgb: { data, width: w, height: h } };
  });
  // The golden case feeds the uint8 image straight to the processor: a crop of its own size is the identity.
  t.is(h, w);
  const same = await VlvImageProcessor.load(goldenPath('vlv_stage1', 'florence2'), { imageSize: h });
  const out = await same.prepare(decoded);
  const want = new Float32Array(fx.get('preprocess.out.pixel_values')!.bytes.slice().buffer);
  const got = out.pixelValues.toArray() as Float32Array;
  t.deepEqual(out.pixelValues.shape, fx.get('preprocess.out.pixel_values')!.shape);
  let maxRel = 0;
  for (let i = 0; i < want.length; i++)
    maxRel = Math.max(maxRel, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  t.true(maxRel <= 1e-6, `pixel_values max rel ${maxRel}`);
  const ids = Array.from(new BigInt64Array(fx.get('preprocess.out.input_ids')!.bytes.slice().buffer), Number);
  t.deepEqual(Array.from(out.inputIds.toArray() as BigInt64Array, Number), ids);
  t.deepEqual(out.files, ['case 0', 'case 1'].slice(0, b));
});

// ------------------------------------------------------------------ caption post-processing

test('processCaption: the official rule (cut after the last ".", first occurrence of each sentence)', (t) => {
  t.is(processCaption('A cat sits on a mat. The mat is red. The mat is'), 'A cat sits on a mat. The mat is red.');
  t.is(processCaption('A dog. A dog. A dog runs.'), 'A dog. A dog runs.');
  t.is(processCaption('A dog.  A dog.\nA cat.'), 'A dog. A cat.');
  // Sentences end at ! and ? too; only '.' decides where the text is cut.
  t.is(processCaption('Look! Look! Is it a bird? Yes. trailing words'), 'Look! Is it a bird? Yes.');
  t.is(processCaption('no period at all'), 'no period at all');
  t.is(processCaption('Ends with a period.'), 'Ends with a period.');
  t.is(processCaption(''), '');
  // Exact matches only: a sentence differing in case or spacing stays.
  t.is(processCaption('A b. a b. A b.'), 'A b. a b.');
  // No break without whitespace after the mark (decimals, abbreviations glued to text).
  t.is(processCaption('It costs 3.50 dollars. It costs 3.50 dollars.'), 'It costs 3.50 dollars.');
  // Python's \s: U+001F separates, U+FEFF does not.
  t.is(processCaption('A.\u001fA.\u001fB.'), 'A. B.');
  t.is(processCaption('A.\ufeffA.'), 'A.\ufeffA.');
});

// ------------------------------------------------------------------ end to end on the golden folders

const stage1 = goldenPath('vlv_stage1');
const captioner = goldenPath('vlv_caption');

/** A golden case's uint8 images ([B, 3, H, W] values stored as F32) as named raw images. */
function goldenImages(folder: string, name: string): { images: RawImage[]; size: number } {
  const t = readFixture(join(folder, 'cases.safetensors')).tensors.get(name)!;
  const [b, , h, w] = t.shape as [number, number, number, number];
  const v = new Float32Array(t.bytes.slice().buffer);
  const images = Array.from({ length: b }, (_, i) => {
    const data = new Uint8Array(h * w * 3);
    for (let c = 0; c < 3; c++) for (let p = 0; p < h * w; p++) data[p * 3 + c] = v[(i * 3 + c) * h * w + p]!;
    return { data, width: w, height: h, channels: 3 as const, name: `golden ${i}` };
  });
  return { images, size: h };
}

function goldenF32(folder: string, name: string): { shape: number[]; values: Float32Array } {
  const t = readFixture(join(folder, 'cases.safetensors')).tensors.get(name)!;
  return { shape: t.shape, values: new Float32Array(t.bytes.slice().buffer) };
}

function goldenIds(folder: string, name: string): number[][] {
  const t = readFixture(join(folder, 'cases.safetensors')).tensors.get(name)!;
  const v = Array.from(new BigInt64Array(t.bytes.slice().buffer), Number);
  const [r, n] = t.shape as [number, number];
  return Array.from({ length: r }, (_, i) => v.slice(i * n, (i + 1) * n));
}

function maxRel(got: Float32Array, want: Float32Array): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  return m;
}

let stage1Model: Promise<VlvModel> | undefined;
const loadStage1 = () => (stage1Model ??= VlvModel.load(stage1, { use: 'reconstruct' }));
let captionModel: Promise<VlvModel> | undefined;
const loadCaptioner = () => (captionModel ??= VlvModel.load(captioner, { use: 'caption' }));
test.after.always(async () => {
  for (const m of [stage1Model, captionModel]) if (m) (await m.catch(() => null))?.dispose();
});

test('embed: the golden images through the pipeline give the official z and c (batched or not)', async (t) => {
  const model = await loadStage1();
  const { images, size } = goldenImages(stage1, 'preprocess.in.image');
  const z = goldenF32(stage1, 'embed.out.z');
  const c = goldenF32(stage1, 'embed.out.c');
  for (const batchSize of [1, 2]) {
    const events: Progress[] = [];
    const r = await embed(model, images, { imageSize: size, batchSize, onProgress: (p) => events.push(p) });
    t.deepEqual(r.files, ['golden 0', 'golden 1']);
    t.deepEqual(r.z.shape, z.shape);
    t.deepEqual(r.c.shape, c.shape);
    t.true(maxRel(r.z.toFloat32(), z.values) <= 1e-4, `z batch ${batchSize}`);
    t.true(maxRel(r.c.toFloat32(), c.values) <= 1e-4, `c batch ${batchSize}`);
    t.deepEqual(
      events.filter((e) => e.stage === 'batch').map((e) => `${e.done}/${e.total}`),
      batchSize === 1 ? ['1/2', '2/2'] : ['1/1'],
    );
    r.z.dispose();
    r.c.dispose();
  }
  const e = await t.throwsAsync(embed(model, [images[0]!, join(tmp, 'nope.png')], { imageSize: size }));
  t.true(e instanceof VlvError && e.code === 'E_FILE' && e.message.includes('nope.png'), String(e));
});

test('reconstruct: the unconditional ids ([bos, eos, 0 x 75]) from the CLIP tokenizer, or from text_encoder/config.json', async (t) => {
  const want = [512, 513, ...new Array<number>(75).fill(0)];
  t.deepEqual(await unconditionalIds(await loadStage1()), { ids: want, source: 'tokenizer' });
  // The captioner folder has no tokenizer/ part (its layout alone: no need to load it).
  t.deepEqual(await unconditionalIds({ folder: resolveVlvFolder(captioner) }), {
    ids: want,
    source: 'text_encoder config',
  });
});

test('reconstruct: images, z or c -> [B, 3, H, W] in [0, 1]; seeded; denoise progress; crops for side by side', async (t) => {
  const model = await loadStage1();
  const { images, size } = goldenImages(stage1, 'preprocess.in.image');
  const events: Progress[] = [];
  const opts = { steps: 3, size: 32, seed: 5, imageSize: size };
  const a = await reconstruct(model, images, { ...opts, onProgress: (p) => events.push(p) });
  t.is(a.images.shape.length, 4);
  t.deepEqual(a.images.shape.slice(0, 2), [2, 3]);
  const va = a.images.toFloat32();
  t.true(va.every((x) => x >= 0 && x <= 1));
  t.deepEqual(a.files, ['golden 0', 'golden 1']);
  t.is(a.crops!.length, 2);
  t.deepEqual([a.crops![0]!.width, a.crops![0]!.height], [size, size]);
  t.deepEqual(
    events.filter((e) => e.stage === 'denoise').map((e) => e.done),
    [1, 2, 3],
  );
  const b = await reconstruct(model, images, opts);
  t.deepEqual(b.images.toFloat32(), va, 'the same seed gives the same images');
  const other = await reconstruct(model, images, { ...opts, seed: 6 });
  t.notDeepEqual(other.images.toFloat32(), va);
  // From an embedding: z (CLIP applied in the engine) and c (given) agree.
  const { z, c } = await embed(model, images, { imageSize: size });
  const fromZ = await reconstruct(model, { z }, opts);
  const fromC = await reconstruct(model, { c }, opts);
  t.deepEqual(fromZ.files, ['z 0', 'z 1']);
  t.deepEqual(fromZ.images.shape, a.images.shape);
  t.true(maxRel(fromZ.images.toFloat32(), fromC.images.toFloat32()) <= 1e-4);
  t.true(maxRel(fromZ.images.toFloat32(), va) <= 1e-4, 'images and their embedding reconstruct alike');
  for (const r of [a, b, other, fromZ, fromC]) r.images.dispose();
  const e = await t.throwsAsync(reconstruct(model, images, { steps: 0 }));
  t.true(e instanceof VlvError && e.code === 'E_ARG', String(e));
});

test('abort: an aborted signal rejects with E_ABORTED (before the call and during denoising)', async (t) => {
  const model = await loadStage1();
  const { images, size } = goldenImages(stage1, 'preprocess.in.image');
  const before = new AbortController();
  before.abort();
  const e1 = await t.throwsAsync(embed(model, images, { imageSize: size, signal: before.signal }));
  t.true(e1 instanceof VlvError && e1.code === 'E_ABORTED', String(e1));
  const during = new AbortController();
  const e2 = await t.throwsAsync(
    reconstruct(model, images, {
      steps: 20,
      size: 32,
      imageSize: size,
      signal: during.signal,
      onProgress: (p) => {
        if (p.stage === 'denoise' && p.done === 2) during.abort();
      },
    }),
  );
  t.true(e2 instanceof VlvError && e2.code === 'E_ABORTED', String(e2));
});

test('caption: the golden images through the pipeline give the official ids (beam search and greedy)', async (t) => {
  const model = await loadCaptioner();
  const { images, size } = goldenImages(captioner, 'caption.in.image');
  const tok = await loadTokenizer(join(captioner, 'qwen2'));
  for (const [name, beams] of [
    ['caption_ids', 4],
    ['caption_greedy', 1],
  ] as const) {
    const events: Progress[] = [];
    const r = await caption(model, images, {
      beams,
      maxNewTokens: 10,
      imageSize: size,
      onProgress: (p) => events.push(p),
    });
    t.deepEqual(
      r.map((x) => x.ids),
      goldenIds(captioner, `${name}.out.ids`),
      name,
    );
    for (const x of r) {
      t.is(x.text, tok.decode(x.ids, { skipSpecialTokens: true }));
      t.is(x.caption, processCaption(x.text));
    }
    t.deepEqual(
      r.map((x) => x.file),
      ['golden 0', 'golden 1'],
    );
    t.true(events.some((e) => e.stage === 'token'));
  }
});

test("caption: stream yields each row's tokens as generated (the greedy ids), then the captions; beams cannot stream", async (t) => {
  const model = await loadCaptioner();
  const { images, size } = goldenImages(captioner, 'caption.in.image');
  const want = goldenIds(captioner, 'caption_greedy.out.ids');
  const tokens: number[][] = [[], []];
  const texts = ['', ''];
  const finals: CaptionResult[] = [];
  for await (const ev of caption(model, images, { maxNewTokens: 10, imageSize: size, stream: true })) {
    if (ev.type === 'token') {
      tokens[ev.index]!.push(ev.id);
      texts[ev.index] = texts[ev.index]! + ev.text;
    } else finals[ev.index] = ev.result;
  }
  t.deepEqual(tokens, want);
  t.deepEqual(
    finals.map((f) => f.ids),
    want,
  );
  t.deepEqual(
    texts,
    finals.map((f) => f.text),
  );
  const e = await t.throwsAsync(async () => {
    const events = caption(model, images, { beams: 2, stream: true });
    await events.next();
  });
  t.true(e instanceof VlvError && e.code === 'E_ARG' && e.message.includes('beam search cannot stream'), String(e));
});

test('caption: aborting during generation rejects with E_ABORTED', async (t) => {
  const model = await loadCaptioner();
  const { images, size } = goldenImages(captioner, 'caption.in.image');
  const ac = new AbortController();
  const e = await t.throwsAsync(
    caption(model, images, {
      beams: 1,
      maxNewTokens: 50,
      imageSize: size,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.stage === 'token' && p.done === 2) ac.abort();
      },
    }),
  );
  t.true(e instanceof VlvError && e.code === 'E_ABORTED', String(e));
});
