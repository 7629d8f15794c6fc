// `vlv convert`: run as a child process (lib/cli-main.ts) on the golden VLV captioner and on
// checkpoints written here; the safetensors it writes are compared with the checkpoint as the
// weights-only reader loads it, tied names are recovered from the file's metadata, and the
// config folders and vlv.json are checked as the VLV folder loader will read them.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, inspectSafetensors, loadSafetensors, readTorchCheckpoint } from '../../lib/index.js';
import { runConformance } from '../../lib/testing.js';
import { goldenPath } from '../helpers/golden.js';
import { Pickle, torchArchive, torchCheckpoint } from '../helpers/torch-zip.js';

const root = join(import.meta.dirname, '..', '..');

function vlv(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'lib', 'cli-main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'vlv-convert-'));
}

function bytesOf(t: Tensor): Buffer {
  const a = t.toArray();
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

test('convert the golden VLV captioner: tensors, ties, config folders, vlv.json, and it runs', async (t) => {
  const golden = goldenPath('vlv_caption');
  const out = join(tempDir(), 'vlv-caption');
  const r = vlv('convert', join(golden, 'model.pt'), out);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /model\.safetensors: 242 tensors, 1\.1 MiB \(3 tied names written once\)/);

  t.deepEqual(JSON.parse(readFileSync(join(out, 'vlv.json'), 'utf8')), {
    format: 'vlv',
    version: 1,
    checkpoint: 'model.safetensors',
    parts: { florence2: 'florence2', text_encoder: 'text_encoder', language_model: 'qwen2' },
  });
  t.deepEqual(readdirSync(out).sort(), ['florence2', 'model.safetensors', 'qwen2', 'text_encoder', 'vlv.json']);
  for (const part of ['florence2', 'qwen2', 'text_encoder']) {
    const files = readdirSync(join(golden, part)).sort();
    t.deepEqual(readdirSync(join(out, part)).sort(), files, part);
    for (const f of files) t.true(readFileSync(join(out, part, f)).equals(readFileSync(join(golden, part, f))), f);
  }

  const ckpt = await readTorchCheckpoint(join(golden, 'model.pt'));
  const st = await loadSafetensors(join(out, 'model.safetensors'));
  const aliases = JSON.parse(st.metadata['vlv.aliases']!) as Record<string, string>;
  t.deepEqual(aliases, ckpt.aliases);
  t.is(st.metadata.format, 'pt');
  t.deepEqual(
    Object.keys(st.tensors).sort(),
    Object.keys(ckpt.tensors)
      .filter((n) => !(n in ckpt.aliases))
      .sort(),
  );
  for (const [name, x] of Object.entries(ckpt.tensors)) {
    const y = st.tensors[aliases[name] ?? name]!; // a dropped name is recovered through its alias
    t.is(y.dtype, x.dtype, name);
    t.deepEqual(y.shape, x.shape, name);
    t.true(bytesOf(y).equals(bytesOf(x)), name);
  }

  // The converted folder is a VLV model folder: the official captioner's cases pass from it.
  for (const f of ['cases.json', 'cases.safetensors']) copyFileSync(join(golden, f), join(out, f));
  const results = await runConformance(out);
  t.is(results.length, 4);
  for (const r of results) t.true(r.pass, `${r.case}: rel ${r.rel} tol ${r.tol} ${r.error ?? ''}`);
});

test('convert strips module., keeps bf16, copies only config and tokenizer files, --parts-from', async (t) => {
  const dir = tempDir();
  const bf16 = Tensor.from(new Uint16Array([0x3f80, 0x4000, 0xbf80, 0x7f7f, 0x0001, 0x8000]), [2, 3], 'bf16');
  const f32 = Tensor.from(new Float32Array([1.5, -2, 3e-8, 4]), [4]);
  const ckpt = join(dir, 'model.bin');
  writeFileSync(
    ckpt,
    torchCheckpoint({
      'module.encoder.weight': { dtype: 'bf16', shape: [2, 3], bytes: bytesOf(bf16) },
      'module.encoder.bias': { dtype: 'f32', shape: [4], bytes: bytesOf(f32) },
      'head.scale': { dtype: 'f32', shape: [4], bytes: bytesOf(f32) },
    }),
  );
  const parts = join(dir, 'parts');
  const files: Record<string, string> = {
    'unet/config.json': '{"in_channels":4}',
    'unet/diffusion_pytorch_model.safetensors': 'weights',
    'unet/diffusion_pytorch_model.bin': 'weights',
    'vae/config.json': '{}',
    'scheduler/scheduler_config.json': '{"_class_name":"DDIMScheduler"}',
    'tokenizer/vocab.json': '{}',
    'tokenizer/merges.txt': '#version: 0.2\n',
    'tokenizer/special_tokens_map.json': '{}',
    'language_model/config.json': '{"model_type":"qwen2"}',
    'language_model/model.safetensors.index.json': '{"weight_map":{}}',
    'notes/readme.md': 'not a part',
    'custom/config.json': '{}',
  };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(parts, rel, '..'), { recursive: true });
    writeFileSync(join(parts, rel), text);
  }
  const out = join(dir, 'out');
  const r = vlv('convert', ckpt, out, '--parts-from', parts);
  t.is(r.status, 0, r.stderr);
  const st = await loadSafetensors(join(out, 'model.safetensors'));
  t.deepEqual(Object.keys(st.tensors).sort(), ['encoder.bias', 'encoder.weight', 'head.scale']);
  t.is(st.tensors['encoder.weight']!.dtype, 'bf16');
  t.true(bytesOf(st.tensors['encoder.weight']!).equals(bytesOf(bf16)));
  t.true(bytesOf(st.tensors['encoder.bias']!).equals(bytesOf(f32)));
  t.is(st.metadata['vlv.aliases'], undefined);
  t.deepEqual(JSON.parse(readFileSync(join(out, 'vlv.json'), 'utf8')), {
    format: 'vlv',
    version: 1,
    checkpoint: 'model.safetensors',
    parts: {
      tokenizer: 'tokenizer',
      unet: 'unet',
      vae: 'vae',
      scheduler: 'scheduler',
      language_model: 'language_model',
    },
  });
  t.deepEqual(readdirSync(join(out, 'unet')), ['config.json']);
  t.deepEqual(readdirSync(join(out, 'language_model')), ['config.json']);
  t.deepEqual(readdirSync(join(out, 'tokenizer')).sort(), ['merges.txt', 'special_tokens_map.json', 'vocab.json']);
  t.deepEqual(readdirSync(join(out, 'custom')), ['config.json']); // copied, not a known part
  t.false(existsSync(join(out, 'notes')));
  // The written file is an ordinary safetensors file.
  t.is(inspectSafetensors(join(out, 'model.safetensors')).files[0]!.tensors.length, 3);
});

test('convert a hostile checkpoint: exit 2 with E_FILE_FORMAT, nothing written', (t) => {
  const dir = tempDir();
  const marker = join(dir, 'pwned');
  const pickle = new Pickle().proto().global('os', 'system').str(`touch ${marker}`).tupleOf(1).reduce().stop();
  const ckpt = join(dir, 'evil.pt');
  writeFileSync(ckpt, torchArchive(pickle.bytes_(), {}));
  const out = join(dir, 'out');
  const r = vlv('convert', ckpt, out);
  t.is(r.status, 2);
  t.regex(r.stderr, /^vlv convert: E_FILE_FORMAT: .*evil\.pt: .*global 'os\.system' is not allowed/);
  t.false(existsSync(out));
  t.false(existsSync(marker));
});

test('convert: usage errors are E_ARG, a missing checkpoint E_FILE, module. collisions E_FILE_FORMAT', (t) => {
  const r = vlv('convert', 'only-one-arg.pt');
  t.is(r.status, 2);
  t.regex(r.stderr, /^vlv convert: E_ARG: usage: vlv convert/);
  const r2 = vlv('convert', '/nonexistent/model.pt', tempDir());
  t.is(r2.status, 2);
  t.regex(r2.stderr, /^vlv convert: E_FILE: \/nonexistent\/model\.pt: no such file or directory/);
  const dir = tempDir();
  const ckpt = join(dir, 'clash.pt');
  const one = { dtype: 'f32', shape: [1], bytes: Buffer.from(new Float32Array([1]).buffer) };
  writeFileSync(ckpt, torchCheckpoint({ 'module.w': one, w: one }));
  const r3 = vlv('convert', ckpt, join(dir, 'out'));
  t.is(r3.status, 2);
  t.regex(r3.stderr, /E_FILE_FORMAT: .*tensors 'module\.w' and 'w' both become 'w' once 'module\.' is stripped/);
  const r4 = vlv('convert', ckpt, dir);
  t.is(r4.status, 2);
  t.regex(r4.stderr, /E_ARG: .*the output folder must not be the folder the parts come from/);
});
