// `vlv embed`, `vlv caption`, `vlv reconstruct` as a user runs them (child processes from the
// TypeScript sources) on the golden tiny VLV folders: exit codes, output lines and files.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readFixture } from '../helpers/fixture-file.js';
import { goldenPath } from '../helpers/golden.js';

const root = join(import.meta.dirname, '..', '..');
const stage1 = goldenPath('vlv_stage1');
const captioner = goldenPath('vlv_caption');
const tmp = mkdtempSync(join(tmpdir(), 'vlv-cli-vlv-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

const cliArgs = (args: string[]) => ['--import', 'tsx', join(root, 'lib', 'cli-main.ts'), ...args];
function vlv(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, cliArgs(args), {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, VLV_NUM_THREADS: '2' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The golden case's two images as PNG files (32x32), and a file that is not an image. */
const images = (async () => {
  const t = readFixture(join(captioner, 'cases.safetensors')).tensors.get('caption.in.image')!;
  const [b, , h, w] = t.shape as [number, number, number, number];
  const v = new Float32Array(t.bytes.slice().buffer);
  const files: string[] = [];
  for (let i = 0; i < b; i++) {
    const data = Buffer.alloc(h * w * 3);
    for (let c = 0; c < 3; c++) for (let p = 0; p < h * w; p++) data[p * 3 + c] = v[(i * 3 + c) * h * w + p]!;
    const file = join(tmp, `golden-${i}.png`);
    await sharp(data, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toFile(file);
    files.push(file);
  }
  const bad = join(tmp, 'broken.jpg');
  writeFileSync(bad, 'this is not a JPEG');
  return { files, bad, size: h };
})();

test('vlv embed: z and c of each image in one safetensors file, the files named in its metadata', async (t) => {
  const { files, size } = await images;
  const out = join(tmp, 'emb.safetensors');
  const r = vlv('embed', ...files, '--model', stage1, '--out', out, '--image-size', String(size));
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /z \[2, 5, 48\], c \[2, 5, 48\] for 2 images/);
  t.regex(r.stderr, /batch 1\/1/);
  const f = readFixture(out);
  t.deepEqual(f.tensors.get('z')!.shape, [2, 5, 48]);
  t.deepEqual(f.tensors.get('c')!.shape, [2, 5, 48]);
  t.is(f.tensors.get('z')!.dtype, 'F32');
  t.deepEqual(JSON.parse(f.metadata.files!), files);
  t.is(f.metadata.format, 'vlv-embedding');
  // ... and reconstruct reads it back.
  const png = join(tmp, 'from-emb.png');
  const r2 = vlv('reconstruct', '--embedding', out, '--model', stage1, '--out', png, '--steps', '2', '--size', '32');
  t.is(r2.status, 0, r2.stderr);
  t.regex(r2.stdout, /from-emb-0\.png: \d+x\d+ \(z 0\)/);
  t.regex(r2.stdout, /from-emb-1\.png: \d+x\d+ \(z 1\)/);
  t.regex(r2.stderr, /denoise 2\/2/);
  t.is((await sharp(join(tmp, 'from-emb-1.png')).metadata()).format, 'png');
});

test('vlv caption --json: one line per image, an unreadable file as an error line, exit 2', async (t) => {
  const { files, bad, size } = await images;
  const r = vlv(
    'caption',
    files[0]!,
    bad,
    files[1]!,
    '--model',
    captioner,
    '--json',
    '--max-new-tokens',
    '10',
    '--image-size',
    String(size),
  );
  t.is(r.status, 2, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { file: string; caption?: string; ids?: number[]; error?: string; code?: string });
  t.is(lines.length, 3);
  t.deepEqual(
    lines.map((l) => l.file),
    [files[0], bad, files[1]],
  );
  // The official beam search (4 beams) on the golden images: its ids.
  const ids = readFixture(join(captioner, 'cases.safetensors')).tensors.get('caption_ids.out.ids')!;
  const want = Array.from(new BigInt64Array(ids.bytes.slice().buffer), Number);
  t.deepEqual(lines[0]!.ids, want.slice(0, 10));
  t.deepEqual(lines[2]!.ids, want.slice(10, 20));
  t.is(typeof lines[0]!.caption, 'string');
  t.is(lines[1]!.code, 'E_FILE_FORMAT');
  t.true(lines[1]!.error!.includes(bad), lines[1]!.error);
  t.regex(r.stderr, /token 10\/10/);
});

test('vlv caption: plain lines; --stream prints the greedy text; --stream with beams is E_ARG', async (t) => {
  const { files, size } = await images;
  const common = ['--model', captioner, '--max-new-tokens', '5', '--image-size', String(size)];
  const r = vlv('caption', ...files, ...common);
  t.is(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  t.is(lines.length, 2);
  t.true(lines[0]!.startsWith(`${files[0]}: `) && lines[1]!.startsWith(`${files[1]}: `), r.stdout);
  const s = vlv('caption', ...files, ...common, '--stream', '--json');
  t.is(s.status, 0, s.stderr);
  const ev = s.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { file: string; token?: number; caption?: string; ids?: number[] });
  const greedy = readFixture(join(captioner, 'cases.safetensors')).tensors.get('caption_greedy.out.ids')!;
  const want = Array.from(new BigInt64Array(greedy.bytes.slice().buffer), Number);
  t.deepEqual(
    ev.filter((e) => e.file === files[0] && e.token !== undefined).map((e) => e.token),
    want.slice(0, 5),
  );
  t.deepEqual(ev.find((e) => e.file === files[1] && e.ids)!.ids, want.slice(10, 15));
  const b = vlv('caption', files[0]!, ...common, '--stream', '--beams', '4');
  t.is(b.status, 2);
  t.regex(b.stderr, /E_ARG: --stream: beam search cannot stream/);
});

test("vlv caption --florence2: Florence-2's own captions (the baseline), an unreadable file as an error line", async (t) => {
  const { files, bad } = await images;
  // The golden tiny random Florence-2 with the processor files of its architecture (as test/models/florence2-captioner.test.ts).
  const folder = join(tmp, 'florence2');
  mkdirSync(folder);
  for (const f of ['config.json', 'model.safetensors']) symlinkSync(goldenPath('florence2', f), join(folder, f));
  for (const f of [
    'vocab.json',
    'merges.txt',
    'tokenizer_config.json',
    'special_tokens_map.json',
    'preprocessor_config.json',
  ])
    copyFileSync(join(captioner, 'florence2', f), join(folder, f));
  const r = vlv(
    'caption',
    files[0]!,
    bad,
    '--florence2',
    folder,
    '--task',
    '<CAPTION>',
    '--json',
    '--max-new-tokens',
    '5',
  );
  t.is(r.status, 2, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { file: string; task?: string; caption?: string; parsed?: object; code?: string });
  t.is(lines.length, 2);
  t.is(lines[0]!.file, files[0]!);
  t.is(lines[0]!.task, '<CAPTION>');
  t.is(typeof lines[0]!.caption, 'string');
  t.deepEqual(Object.keys(lines[0]!.parsed!), ['<CAPTION>']);
  t.deepEqual([lines[1]!.file, lines[1]!.code], [bad, 'E_FILE_FORMAT']);
  const both = vlv('caption', files[0]!, '--florence2', folder, '--model', stage1);
  t.is(both.status, 2);
  t.regex(both.stderr, /E_ARG: give --model or --florence2, not both/);
});

test('vlv reconstruct --side-by-side: the crop and the reconstruction in one PNG', async (t) => {
  const { files, size } = await images;
  const out = join(tmp, 'rec.png');
  const r = vlv(
    'reconstruct',
    files[0]!,
    '--model',
    stage1,
    '--out',
    out,
    '--side-by-side',
    '--steps',
    '3',
    '--size',
    '32',
    '--seed',
    '1',
    '--scheduler',
    'ddim',
    '--image-size',
    String(size),
  );
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, /denoise 3\/3/);
  const meta = await sharp(out).metadata();
  t.deepEqual([meta.format, meta.width, meta.height], ['png', 2 * size, size]);
  // The left half is the crop the encoder saw: here the image itself (its side is the crop side).
  const { data } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
  const src = await sharp(files[0]).raw().toBuffer();
  for (let y = 0; y < size; y += 7)
    t.deepEqual(
      data.subarray(y * 2 * size * 3, (y * 2 * size + size) * 3),
      src.subarray(y * size * 3, (y + 1) * size * 3),
    );
});

test('vlv embed / caption / reconstruct: usage errors are E_ARG with exit 2', (t) => {
  const img = join(root, 'test', 'fixtures', 'vision', 'florence2-test.png');
  const m = vlv('caption', img);
  t.is(m.status, 2);
  t.regex(m.stderr, /^vlv caption: E_ARG: pass --model <VLV folder>.*no built-in VLV model yet/);
  const d = vlv('embed', img, '--model', stage1, '--device', 'tpu');
  t.is(d.status, 2);
  t.regex(d.stderr, /E_ARG: --device takes cpu \| cuda, got 'tpu'/);
  const n = vlv('reconstruct', img, '--model', stage1, '--steps', 'many');
  t.is(n.status, 2);
  t.regex(n.stderr, /E_ARG: --steps takes an integer, got 'many'/);
  const s = vlv('reconstruct', '--embedding', join(tmp, 'x.safetensors'), '--model', stage1, '--side-by-side');
  t.is(s.status, 2);
  t.regex(s.stderr, /E_ARG: --side-by-side needs input images/);
  const u = vlv('embed', img, '--model', stage1, '--bogus', '1');
  t.is(u.status, 2);
  t.regex(u.stderr, /E_ARG: unknown argument '--bogus'/);
});

// Serial: the other tests of this file run the CLI through spawnSync, which blocks this
// process's event loop, so the child's progress (and the Ctrl-C it triggers) would arrive late.
test.serial('Ctrl-C during vlv reconstruct aborts it: E_ABORTED, exit 2, no output file', async (t) => {
  const out = join(tmp, 'interrupted.png');
  const img = join(root, 'test', 'fixtures', 'vision', 'florence2-test.png');
  const child = spawn(
    process.execPath,
    cliArgs(['reconstruct', img, '--model', stage1, '--out', out, '--steps', '500', '--size', '32']),
    { cwd: root, env: { ...process.env, VLV_NUM_THREADS: '2' } },
  );
  let stderr = '';
  let sent = false;
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (!sent && /denoise \d+\/500/.test(stderr)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.true(sent, stderr);
  t.is(status, 2, stderr);
  t.regex(stderr, /interrupted: stopping/);
  t.regex(stderr, /vlv reconstruct: E_ABORTED/);
  t.throws(() => readFileSync(out));
});
