// Florence2Captioner (lib/vision/florence2-captioner.ts) on the golden tiny random Florence-2:
// its weights and config.json from shared/golden/florence2/, with the processor and tokenizer
// files of the same tiny architecture from shared/golden/vlv_caption/florence2/ (vocab 300,
// 64x64 images). The model is random, so its text is noise: these tests check the structure,
// determinism, that the ids are Florence2Model.generate's for the processor's inputs, that the
// answer is post_process_generation of the decoded ids with the ORIGINAL image size,
// cancellation and the typed errors.
import test from 'ava';
import { copyFileSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  Florence2Captioner,
  Florence2Model,
  Florence2Processor,
  postProcessFlorence2Generation,
  VlvError,
  type Progress,
} from '../../lib/index.js';
import { goldenPath } from '../helpers/golden.js';

const folder = mkdtempSync(join(tmpdir(), 'vlv-florence2-captioner-'));
for (const f of ['config.json', 'model.safetensors']) symlinkSync(goldenPath('florence2', f), join(folder, f));
for (const f of [
  'vocab.json',
  'merges.txt',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'preprocessor_config.json',
])
  copyFileSync(goldenPath('vlv_caption', 'florence2', f), join(folder, f));

const START = 2; // text_config.decoder_start_token_id (</s>)
const EOS = 2;

// Two PNG files of different sizes (both become 64x64) and a JPEG buffer.
const images = (async () => {
  const raw = Buffer.alloc(80 * 48 * 3);
  for (let i = 0; i < raw.length; ++i) raw[i] = (i * 37) % 251;
  const a = join(folder, 'pattern.png');
  await sharp(raw, { raw: { width: 80, height: 48, channels: 3 } })
    .png()
    .toFile(a);
  const b = join(folder, 'red.png');
  await sharp({ create: { width: 50, height: 30, channels: 3, background: { r: 200, g: 10, b: 40 } } })
    .png()
    .toFile(b);
  const c = await sharp({ create: { width: 33, height: 70, channels: 3, background: { r: 10, g: 90, b: 200 } } })
    .jpeg()
    .toBuffer();
  return { a, b, c };
})();

const captioner = Florence2Captioner.load(folder);
test.after.always(async () => (await captioner).dispose());

test('captions: one answer per image in order, keyed by the task, the original sizes', async (t) => {
  const { a, b, c } = await images;
  const cap = await captioner;
  const out = await cap.caption([a, b, c], { task: '<CAPTION>', maxNewTokens: 12, batchSize: 2 });
  t.is(out.length, 3);
  t.deepEqual(
    out.map((r) => r.file),
    [a, b, undefined],
  );
  t.false('file' in out[2]!, 'no file for a buffer');
  t.deepEqual(
    out.map((r) => r.imageSize),
    [
      { width: 80, height: 48 },
      { width: 50, height: 30 },
      { width: 33, height: 70 },
    ],
  );
  for (const r of out) {
    t.is(r.task, '<CAPTION>');
    t.deepEqual(Object.keys(r.parsed), ['<CAPTION>']);
    t.deepEqual(r.parsed, { '<CAPTION>': r.text });
    t.false(r.text.includes('<s>') || r.text.includes('</s>'));
    t.true(r.ids.length >= 1 && r.ids.length <= 12);
    t.is(r.ids[0], 0, 'forced_bos_token_id first');
    t.false(r.ids.slice(0, -1).includes(EOS), 'nothing kept after </s>');
    t.true(r.ids.at(-1) === EOS || r.ids.length === 12, 'ends at </s> or at max_new_tokens');
    // The answer is post_process_generation of the reference's decoded text with the original size.
    const decoded = cap.processor.decode([START, ...r.ids], { skipSpecialTokens: false });
    t.deepEqual(r.parsed, postProcessFlorence2Generation(decoded, '<CAPTION>', r.imageSize));
  }
});

test('deterministic: the same call twice gives the same answers', async (t) => {
  const { a, b } = await images;
  const cap = await captioner;
  const opts = { task: '<OD>', maxNewTokens: 10 };
  const first = await cap.caption([a, b], opts);
  t.deepEqual(await cap.caption([a, b], opts), first);
  for (const r of first) {
    const od = r.parsed['<OD>'] as { bboxes: number[][]; labels: string[] };
    t.true(Array.isArray(od.bboxes) && Array.isArray(od.labels) && od.bboxes.length === od.labels.length);
    t.false(/<\/?s>|<pad>/.test(r.text), 'structured tasks: text without <s>, </s>, <pad>');
    const decoded = cap.processor.decode([START, ...r.ids], { skipSpecialTokens: false });
    t.deepEqual(r.parsed, postProcessFlorence2Generation(decoded, '<OD>', r.imageSize));
  }
});

test("the ids are Florence2Model.generate's for the processor's inputs (beams 3, no sampling)", async (t) => {
  const { a, b } = await images;
  const cap = await captioner;
  const out = await cap.caption([a, b], { task: '<DETAILED_CAPTION>', maxNewTokens: 15, beams: 3 });
  const processor = await Florence2Processor.load(folder);
  const model = await Florence2Model.load(folder);
  try {
    const inputs = await processor.process(['<DETAILED_CAPTION>', '<DETAILED_CAPTION>'], [a, b]);
    const ref = await model.generate(
      { pixelValues: inputs.pixelValues, inputIds: inputs.inputIds },
      { numBeams: 3, maxNewTokens: 15, doSample: false },
    );
    const trimmed = ref.ids.map((row) => (row.includes(EOS) ? row.slice(0, row.indexOf(EOS) + 1) : row));
    t.deepEqual(
      out.map((r) => r.ids),
      trimmed,
    );
  } finally {
    model.dispose();
  }
});

test('defaults: <MORE_DETAILED_CAPTION>, beams 3, max_new_tokens 1024 capped at the decoder positions', async (t) => {
  const { b } = await images;
  const cap = await captioner;
  const events: Progress[] = [];
  const [r] = await cap.caption([b], { onProgress: (p) => events.push(p) });
  t.is(r!.task, '<MORE_DETAILED_CAPTION>');
  t.true(r!.ids.length <= cap.model.config.text_config.max_position_embeddings);
  t.deepEqual(events.at(-1), { stage: 'image', done: 1, total: 1 });
});

test('abort: a signal aborted mid-generation or before the call gives E_ABORTED', async (t) => {
  const { a, b } = await images;
  const cap = await captioner;
  const ac = new AbortController();
  const e = await t.throwsAsync(
    cap.caption([a, b], {
      task: '<CAPTION>',
      maxNewTokens: 100,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.stage !== 'image') ac.abort();
      },
    }),
  );
  t.true(e instanceof VlvError && e.code === 'E_ABORTED', e?.message);
  const pre = new AbortController();
  pre.abort();
  const e2 = await t.throwsAsync(cap.caption([a], { signal: pre.signal }));
  t.true(e2 instanceof VlvError && e2.code === 'E_ABORTED', e2?.message);
  // The captioner still works afterwards.
  t.is((await cap.caption([a], { task: '<CAPTION>', maxNewTokens: 4 })).length, 1);
});

test('unreadable images: typed errors naming the file', async (t) => {
  const { a } = await images;
  const cap = await captioner;
  const missing = join(folder, 'missing.png');
  const e = await t.throwsAsync(cap.caption([a, missing], { task: '<CAPTION>', maxNewTokens: 4 }));
  t.true(e instanceof VlvError && e.code === 'E_FILE' && e.message.includes(missing), e?.message);
  const garbage = join(folder, 'not-an-image.png');
  writeFileSync(garbage, 'this is not a PNG');
  const g = await t.throwsAsync(cap.caption([garbage], { task: '<CAPTION>', maxNewTokens: 4 }));
  t.true(g instanceof VlvError && g.code === 'E_FILE_FORMAT' && g.message.includes(garbage), g?.message);
  const buf = await t.throwsAsync(cap.caption([Buffer.from('nope')], { task: '<CAPTION>', maxNewTokens: 4 }));
  t.true(buf instanceof VlvError && buf.code === 'E_FILE_FORMAT' && buf.message.includes('image 0'), buf?.message);
});

test('bad options are refused with E_ARG', async (t) => {
  const { a } = await images;
  const cap = await captioner;
  for (const opts of [
    { task: '<CAPTION>', text: 'a dog' }, // <CAPTION> takes no input
    { beams: 0 },
    { maxNewTokens: 1.5 },
    { batchSize: -1 },
    { task: '' },
  ]) {
    const e = await t.throwsAsync(cap.caption([a], opts));
    t.true(e instanceof VlvError && e.code === 'E_ARG', `${JSON.stringify(opts)}: ${e?.message}`);
  }
});
