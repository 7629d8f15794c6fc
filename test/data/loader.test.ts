// createDataLoader's batches: shapes and values of both transforms (the 'vlv' transform equals
// the pipelines' own preprocessing of the same file: readImage, stage1Crop, VlvImageProcessor),
// every image format, captions, unreadable images skipped and counted (never the end of the run),
// missing paths E_FILE at start.
import test from 'ava';
import { join } from 'node:path';
import {
  captionFile,
  createDataLoader,
  imageFolder,
  readImage,
  stage1Crop,
  VlvImageProcessor,
  webDataset,
  type DataSource,
} from '../../lib/index.js';
import { brokenImages, encode, tempDir, write, writeShard, shardSamples } from '../helpers/data-fixtures.js';
import { take } from '../helpers/data-batches.js';
import { expectError } from '../helpers/expect-error.js';
import { goldenPath } from '../helpers/golden.js';

const florence2 = goldenPath('vlv_stage1', 'florence2');

/** One image of every format, plus the three broken ones. */
async function mixedFolder(): Promise<{ dir: string; good: string[]; bad: string[] }> {
  const dir = tempDir('mixed');
  const good = [
    write(join(dir, 'a.jpg'), await encode('jpg', 1, 31, 20)),
    write(join(dir, 'b.png'), await encode('png', 2, 20, 33)),
    write(join(dir, 'c.webp'), await encode('webp', 3)),
    write(join(dir, 'd.tiff'), await encode('tiff', 4)),
    write(join(dir, 'e.avif'), await encode('avif', 5)),
    write(join(dir, 'f.gif'), await encode('gif', 6)),
  ];
  const bad = Object.entries(await brokenImages()).map(([name, bytes]) => write(join(dir, 'bad', name), bytes));
  return { dir, good, bad };
}

/** torch's uint8 / 255 * 2 - 1 in float32, channels first. */
function signed(crop: { data: Uint8Array; width: number; height: number }): Float32Array {
  const n = crop.width * crop.height;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 3; c++) out[c * n + i] = Math.fround(Math.fround(crop.data[3 * i + c]! / 255) * 2) - 1;
  return out;
}

test("'vlv' batches equal the pipelines' own preprocessing of the same files, every format", async (t) => {
  const { good, bad } = await mixedFolder();
  const src = await imageFolder(join(good[0]!, '..'));
  const skips: string[] = [];
  const loader = createDataLoader(src, {
    batchSize: 4,
    transform: { kind: 'vlv', cropSize: 48, florence2Folder: florence2 },
    workers: 2,
    onSkip: (key) => skips.push(key),
  });
  const [b1, b2] = await take(loader, 2);
  await loader.close();
  // Sorted: a b bad/corrupt bad/text | bad/truncated c d e | (epoch 1 ...): the bad ones are left out.
  t.deepEqual(b1!.keys, good.slice(0, 2));
  t.deepEqual(b2!.keys, good.slice(2, 5));
  t.deepEqual(b1!.shape, [2, 3, 48, 48]);
  t.deepEqual(skips, [bad[0], bad[2], bad[1]]);
  const proc = await VlvImageProcessor.load(florence2, { imageSize: 48 });
  const batches = [b1!, b2!];
  for (const b of batches)
    for (let i = 0; i < b.keys.length; i++) {
      const decoded = await readImage(b.keys[i]!);
      const want = await proc.prepare([decoded]);
      const px = want.pixelValues.toFloat32();
      want.pixelValues.dispose();
      want.inputIds.dispose();
      t.deepEqual(b.pixelValues!.subarray(i * px.length, (i + 1) * px.length), px, b.keys[i]);
      const img = signed(want.crops[0]!);
      t.deepEqual(b.image.subarray(i * img.length, (i + 1) * img.length), img, b.keys[i]);
    }
  t.is(b1!.pixelValues!.length, 2 * 3 * 64 * 64);
});

test("'resize-crop' batches: shorter side to size, centre crop, [-1, 1]; GIF's first frame; EXIF applied", async (t) => {
  const { dir, good } = await mixedFolder();
  const loader = createDataLoader(await imageFolder(dir), {
    batchSize: 9,
    transform: { kind: 'resize-crop', size: 16 },
    workers: 1,
  });
  const [b] = await take(loader, 1);
  await loader.close();
  t.deepEqual(b!.keys, good);
  t.deepEqual(b!.shape, [6, 3, 16, 16]);
  t.is(b!.captions, undefined);
  const plane = 16 * 16;
  for (let i = 0; i < good.length; i++) {
    const want = signed(stage1Crop((await readImage(good[i]!)).rgb, 16));
    t.deepEqual(b!.image.subarray(i * 3 * plane, (i + 1) * 3 * plane), want, good[i]);
  }
  // The GIF (index 5): red first frame -> R = 1, B = -1.
  const gif = b!.image.subarray(5 * 3 * plane, 6 * 3 * plane);
  t.is(gif[0], 1);
  t.is(gif[2 * plane], -1);
  // The JPEG (31x20, EXIF orientation 6) is decoded upright: 20 wide, 31 high.
  t.deepEqual([(await readImage(good[0]!)).rgb.width, (await readImage(good[0]!)).rgb.height], [20, 31]);
  for (const v of b!.image) t.true(v >= -1 && v <= 1);
});

test('pairs carry their captions; a pair whose image is missing when read is skipped and counted', async (t) => {
  const dir = tempDir('pairs');
  write(join(dir, 'img', '0.png'), await encode('png', 0));
  write(join(dir, 'img', '1.jpg'), await encode('jpg', 1));
  write(join(dir, 'img', '3.webp'), await encode('webp', 3));
  const rows = [
    { image: 'img/0.png', caption: 'zero' },
    { image: 'img/1.jpg', caption: 'one' },
    { image: 'img/2-missing.png', caption: 'two' },
    { image: 'img/3.webp', caption: 'three' },
  ];
  const jsonl = write(join(dir, 'pairs.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
  const csv = write(join(dir, 'pairs.csv'), 'image,caption\n' + rows.map((r) => `${r.image},${r.caption}`).join('\n'));
  for (const file of [jsonl, csv]) {
    const errors: [string, string][] = [];
    const loader = createDataLoader(await captionFile(file), {
      batchSize: 4,
      transform: { kind: 'resize-crop', size: 8 },
      workers: 2,
      onSkip: (key, e) => errors.push([key, (e as Error & { code: string }).code]),
    });
    const [b] = await take(loader, 1);
    t.deepEqual(b!.captions, ['zero', 'one', 'three']);
    t.deepEqual(
      b!.keys,
      [0, 1, 3].map((i) => join(dir, rows[i]!.image)),
    );
    t.deepEqual(errors, [[join(dir, 'img', '2-missing.png'), 'E_FILE']]);
    t.deepEqual(loader.position(), { epoch: 1, consumed: 0, skipped: 1 });
    await take(loader, 1);
    t.is(loader.position().skipped, 2, 'counted again in the next epoch');
    await loader.close();
  }
});

test('shards: captions from .txt or .json, a corrupt image and a truncated shard are skipped and counted', async (t) => {
  const dir = tempDir('wds-skip');
  const corrupt = (await brokenImages())['corrupt.jpg'];
  await writeShard(join(dir, 's-0.tar'), [
    ...(await shardSamples('a', 0, 2)),
    ['a0002.jpg', corrupt],
    ['a0002.txt', 'broken'],
    ...(await shardSamples('a', 3, 1, { jsonOnly: true })),
    ['a0004.txt', 'a caption without an image'],
    ['a0005.png', await encode('png', 5)], // no caption
  ]);
  const s1 = await shardSamples('b', 0, 3);
  await writeShard(join(dir, 's-1.tar'), s1, 1536 + 512 * 4); // cut inside the second sample
  const skips: string[] = [];
  const loader = createDataLoader(await webDataset(join(dir, 's-{0..1}.tar')), {
    batchSize: 10,
    transform: { kind: 'resize-crop', size: 8 },
    workers: 2,
    onSkip: (key, e) => skips.push(`${key}: ${e.message.slice(0, 40)}`),
  });
  const [b] = await take(loader, 1);
  await loader.close();
  t.deepEqual(b!.keys, ['a0000', 'a0001', 'a0003', 'b0000']);
  t.deepEqual(b!.captions, ['caption 0', 'caption 1', 'caption 3', 'caption 0']);
  t.is(skips.length, 3, skips.join('\n'));
  t.regex(skips[0]!, /^a0002: /);
  t.regex(skips[1]!, /^a0005: a0005: no caption/);
  t.regex(skips[2]!, /s-1\.tar: shard /);
  t.is(loader.position().skipped, 3);
  // captions: false reads the caption-less image too.
  const all = createDataLoader(await webDataset(join(dir, 's-0.tar'), { captions: false }), {
    batchSize: 10,
    transform: { kind: 'resize-crop', size: 8 },
    workers: 1,
  });
  const [c] = await take(all, 1);
  await all.close();
  t.deepEqual(c!.keys, ['a0000', 'a0001', 'a0003', 'a0005']);
  t.is(c!.captions, undefined);
});

test('a whole epoch of unreadable images is an error, not an endless loop', async (t) => {
  const dir = tempDir('all-bad');
  for (const [name, bytes] of Object.entries(await brokenImages())) write(join(dir, name), bytes);
  const loader = createDataLoader(await imageFolder(dir), {
    batchSize: 2,
    transform: { kind: 'resize-crop', size: 8 },
  });
  await expectError(t, loader.next(), 'E_FILE_FORMAT', /no readable image in a whole epoch/);
  await loader.close();
});

test('missing paths are E_FILE at start; bad options are E_ARG', async (t) => {
  const dir = tempDir('missing');
  await expectError(t, imageFolder(join(dir, 'nope')), 'E_FILE', /nope/);
  await expectError(t, captionFile(join(dir, 'nope.csv')), 'E_FILE', /nope\.csv/);
  await expectError(t, webDataset(join(dir, 'nope-{0..2}.tar')), 'E_FILE', /nope-0\.tar/);
  write(join(dir, 'i', 'a.png'), await encode('png', 1));
  const src: DataSource = await imageFolder(join(dir, 'i'));
  const bad = (opts: object, message: RegExp, code: 'E_ARG' | 'E_FILE' = 'E_ARG') => {
    const e = t.throws(() =>
      createDataLoader(src, { batchSize: 1, transform: { kind: 'resize-crop', size: 8 }, workers: 0, ...opts }),
    );
    t.is((e as { code?: string }).code, code);
    t.regex(e.message, message);
  };
  bad(
    { transform: { kind: 'vlv', cropSize: 8, florence2Folder: join(dir, 'no-florence') } },
    /preprocessor_config/,
    'E_FILE',
  );
  bad({ batchSize: 0 }, /batchSize/);
  bad({ rank: 2, worldSize: 2 }, /rank 2 of worldSize 2/);
  bad({ worldSize: 2 }, /1 samples cannot feed 2 ranks/);
  bad({ transform: { kind: 'resize-crop', size: 0 } }, /size/);
  bad({ seed: 1.5 }, /seed/);
  bad({ prefetch: -1 }, /prefetch/);
  bad({ dropLast: true, batchSize: 2 }, /dropLast/);
});
