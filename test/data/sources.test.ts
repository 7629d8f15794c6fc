// The dataset sources of lib/data/: an image folder (every format sharp reads here, sorted),
// JSONL / CSV pairs (both key spellings, relative and absolute paths), WebDataset shards (a
// list or a brace pattern) and openDataSource; a missing path is E_FILE when the source is made.
import test from 'ava';
import { symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { captionFile, expandBraces, imageFolder, openDataSource, webDataset } from '../../lib/index.js';
import { expectError } from '../helpers/expect-error.js';
import { encode, tempDir, write, writeShard, shardSamples } from '../helpers/data-fixtures.js';

test('sharp reads every image format the sources list, AVIF included, and a GIF as its first frame', async (t) => {
  for (const kind of ['jpg', 'png', 'webp', 'tiff', 'avif', 'gif'] as const) {
    const bytes = await encode(kind, 1);
    const { info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    t.is(info.width, 23, kind);
  }
  const gif = await sharp(await encode('gif', 0))
    .raw()
    .toBuffer();
  t.deepEqual([...gif.subarray(0, 3)], [255, 0, 0]);
});

test('imageFolder lists image files recursively, by extension (any case), sorted by relative path', async (t) => {
  const dir = tempDir('folder');
  write(join(dir, 'b.png'), await encode('png', 1));
  write(join(dir, 'a', 'z.JPG'), await encode('jpg', 2));
  write(join(dir, 'a', 'y.webp'), await encode('webp', 3));
  write(join(dir, 'A.tiff'), await encode('tiff', 4));
  write(join(dir, 'c', 'd', 'e.avif'), await encode('avif', 5));
  write(join(dir, 'anim.gif'), await encode('gif', 6));
  write(join(dir, 'x.tif'), await encode('tiff', 7));
  write(join(dir, 'x.jpeg'), await encode('jpg', 8));
  write(join(dir, 'notes.txt'), 'not listed');
  write(join(dir, '.hidden', 'h.png'), await encode('png', 9));
  write(join(dir, '.dot.png'), await encode('png', 9));
  symlinkSync(join(dir, 'b.png'), join(dir, 'link.png'));
  symlinkSync(join(dir, 'a'), join(dir, 'linked-folder'));
  const src = await imageFolder(dir);
  t.is(src.kind, 'listed');
  t.false(src.captioned);
  t.deepEqual(
    src.records.map((r) => r.key.slice(dir.length + 1)),
    ['A.tiff', 'a/y.webp', 'a/z.JPG', 'anim.gif', 'b.png', 'c/d/e.avif', 'link.png', 'x.jpeg', 'x.tif'],
  );
  for (const r of src.records) t.is(r.file, r.key);
  // The same listing again (determinism) and from a relative path.
  t.deepEqual((await imageFolder(dir)).records, src.records);
});

test('imageFolder: a missing folder, a file, an empty folder are E_FILE', async (t) => {
  const dir = tempDir('folder-missing');
  await expectError(t, imageFolder(join(dir, 'nope')), 'E_FILE', /no such file or folder/);
  write(join(dir, 'f.png'), await encode('png', 1));
  await expectError(t, imageFolder(join(dir, 'f.png')), 'E_FILE', /not a folder/);
  write(join(dir, 'empty', 'readme.txt'), 'x');
  await expectError(t, imageFolder(join(dir, 'empty')), 'E_FILE', /no images/);
});

test('captionFile: JSONL with image/caption or file/text keys, paths relative to the file or absolute', async (t) => {
  const dir = tempDir('jsonl');
  const abs = write(join(dir, 'elsewhere', 'c.png'), await encode('png', 3));
  const lines = [
    JSON.stringify({ image: 'imgs/a.jpg', caption: 'a cat' }),
    '',
    JSON.stringify({ file: 'b.png', text: 'a "dog", two' }),
    JSON.stringify({ image: abs, caption: 'ünïcode ✓', extra: 1 }),
  ];
  const file = write(join(dir, 'sub', 'pairs.jsonl'), '\uFEFF' + lines.join('\n') + '\n');
  const src = await captionFile(file);
  t.true(src.captioned);
  t.deepEqual(src.records, [
    { key: join(dir, 'sub', 'imgs', 'a.jpg'), file: join(dir, 'sub', 'imgs', 'a.jpg'), caption: 'a cat' },
    { key: join(dir, 'sub', 'b.png'), file: join(dir, 'sub', 'b.png'), caption: 'a "dog", two' },
    { key: abs, file: abs, caption: 'ünïcode ✓' },
  ]);
  // Other field names by option; no captions at all is an uncaptioned dataset.
  const f2 = write(join(dir, 'p2.jsonl'), JSON.stringify({ path: 'x.png', alt: 'hi' }) + '\n');
  const s2 = await captionFile(f2, { imageField: 'path', captionField: 'alt' });
  t.deepEqual(s2.records, [{ key: join(dir, 'x.png'), file: join(dir, 'x.png'), caption: 'hi' }]);
  const f3 = write(join(dir, 'p3.jsonl'), JSON.stringify({ image: 'x.png' }) + '\n');
  t.false((await captionFile(f3)).captioned);
});

test('captionFile: bad JSONL is E_FILE_FORMAT naming the line; a missing file is E_FILE', async (t) => {
  const dir = tempDir('jsonl-bad');
  await expectError(t, captionFile(join(dir, 'none.jsonl')), 'E_FILE', /none\.jsonl/);
  const bad = write(join(dir, 'bad.jsonl'), '{"image": "a.jpg", "caption": "x"}\n{oops\n');
  await expectError(t, captionFile(bad), 'E_FILE_FORMAT', /bad\.jsonl:2: not JSON/);
  const noImage = write(join(dir, 'ni.jsonl'), '{"caption": "x"}\n');
  await expectError(t, captionFile(noImage), 'E_FILE_FORMAT', /ni\.jsonl:1: no image path/);
  const mixed = write(join(dir, 'mixed.jsonl'), '{"image": "a.jpg", "caption": "x"}\n{"image": "b.jpg"}\n');
  await expectError(t, captionFile(mixed), 'E_FILE_FORMAT', /mixed\.jsonl:2: no caption/);
  const arr = write(join(dir, 'arr.jsonl'), '[1, 2]\n');
  await expectError(t, captionFile(arr), 'E_FILE_FORMAT', /not a JSON object/);
  await expectError(t, captionFile(write(join(dir, 'empty.jsonl'), '\n')), 'E_FILE', /no pairs/);
});

test('captionFile: CSV with a header, quoted fields, a BOM; TSV; a missing image column is E_FILE_FORMAT', async (t) => {
  const dir = tempDir('csv');
  const csv = write(
    join(dir, 'pairs.csv'),
    '\uFEFFid,image,caption\r\n1,a.jpg,"a cat, sitting"\r\n\r\n2,"sub/b.png","said ""hi""\non two lines"\r\n',
  );
  const src = await captionFile(csv);
  t.deepEqual(src.records, [
    { key: join(dir, 'a.jpg'), file: join(dir, 'a.jpg'), caption: 'a cat, sitting' },
    { key: join(dir, 'sub', 'b.png'), file: join(dir, 'sub', 'b.png'), caption: 'said "hi"\non two lines' },
  ]);
  const tsv = write(join(dir, 'pairs.tsv'), 'file\ttext\nc.png\ta caption\n');
  t.deepEqual((await captionFile(tsv)).records, [
    { key: join(dir, 'c.png'), file: join(dir, 'c.png'), caption: 'a caption' },
  ]);
  const noImage = write(join(dir, 'bad.csv'), 'picture,caption\na.jpg,x\n');
  await expectError(t, captionFile(noImage), 'E_FILE_FORMAT', /no 'image' column/);
  const ragged = write(join(dir, 'ragged.csv'), 'image,caption\na.jpg,x,extra\n');
  await expectError(t, captionFile(ragged), 'E_FILE_FORMAT', /not CSV/);
  await expectError(t, captionFile(join(dir, 'gone.csv')), 'E_FILE', /./);
  await expectError(t, captionFile(write(join(dir, 'x.txt'), 'a')), 'E_ARG', /format/);
  await expectError(t, captionFile(join(dir, 'x.txt'), { format: 'csv' }), 'E_FILE_FORMAT', /no 'image' column/);
});

test('expandBraces: numeric ranges with padding, lists, several and nested groups', (t) => {
  t.deepEqual(expandBraces('data-{00000..00003}.tar'), [
    'data-00000.tar',
    'data-00001.tar',
    'data-00002.tar',
    'data-00003.tar',
  ]);
  t.deepEqual(expandBraces('s{8..11}.tar'), ['s8.tar', 's9.tar', 's10.tar', 's11.tar']);
  t.deepEqual(expandBraces('{a,b}-{0..1}.tar'), ['a-0.tar', 'a-1.tar', 'b-0.tar', 'b-1.tar']);
  t.deepEqual(expandBraces('x{a,b{1..2}}.tar'), ['xa.tar', 'xb1.tar', 'xb2.tar']);
  t.deepEqual(expandBraces('plain.tar'), ['plain.tar']);
  t.deepEqual(expandBraces('{3..1}'), ['3', '2', '1']);
  t.throws(() => expandBraces('a{0..2.tar'), { message: /without its '}'/ });
});

test('webDataset: a brace pattern or a list of shards; a missing shard is E_FILE at start', async (t) => {
  const dir = tempDir('wds');
  for (let s = 0; s < 3; s++)
    await writeShard(join(dir, `data-${String(s).padStart(5, '0')}.tar`), await shardSamples(`${s}`, 0, 2));
  const src = await webDataset(join(dir, 'data-{00000..00002}.tar'));
  t.is(src.kind, 'shards');
  t.true(src.captioned);
  t.deepEqual(
    src.shards,
    [0, 1, 2].map((s) => join(dir, `data-0000${s}.tar`)),
  );
  const listed = await webDataset([join(dir, 'data-00002.tar'), join(dir, 'data-00000.tar')], { captions: false });
  t.deepEqual(listed.shards, [join(dir, 'data-00002.tar'), join(dir, 'data-00000.tar')]);
  t.false(listed.captioned);
  await expectError(t, webDataset(join(dir, 'data-{00000..00003}.tar')), 'E_FILE', /data-00003\.tar/);
  await expectError(t, webDataset([]), 'E_ARG', /./);
});

test('openDataSource picks the source from the path', async (t) => {
  const dir = tempDir('open');
  write(join(dir, 'imgs', 'a.png'), await encode('png', 1));
  const jsonl = write(join(dir, 'p.jsonl'), JSON.stringify({ image: 'imgs/a.png', caption: 'c' }) + '\n');
  const csv = write(join(dir, 'p.csv'), 'image,caption\nimgs/a.png,c\n');
  await writeShard(join(dir, 's-0.tar'), await shardSamples('a', 0, 1));
  await writeShard(join(dir, 's-1.tar'), await shardSamples('b', 0, 1));
  t.is((await openDataSource(join(dir, 'imgs'))).name, resolve(dir, 'imgs'));
  t.true(((await openDataSource(jsonl)) as { captioned: boolean }).captioned);
  t.is((await openDataSource(csv)).kind, 'listed');
  t.is((await openDataSource(join(dir, 's-{0..1}.tar'))).kind, 'shards');
  t.is((await openDataSource([join(dir, 's-0.tar'), join(dir, 's-1.tar')])).kind, 'shards');
  await expectError(t, openDataSource(join(dir, 'missing')), 'E_FILE', /./);
  await expectError(t, openDataSource(join(dir, 'missing.jsonl')), 'E_FILE', /./);
  await expectError(t, openDataSource(join(dir, 'missing-{0..1}.tar')), 'E_FILE', /./);
  await expectError(t, openDataSource(join(dir, 'imgs', 'a.png')), 'E_ARG', /./);
});
