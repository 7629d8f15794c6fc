/**
 * The CUDA backend's host-side pieces, on a machine without a GPU: the caching allocator's
 * bookkeeping (the vlv_cuda_host_tests binary: a fake device behind RawMemory), the kernels'
 * shared loops (vlv_cuda_kernel_tests) and the tensor-core attention's tiles emulated on the
 * host (vlv_cuda_attention_tests), the loader's decisions (VLV_DEVICE, a missing library, no
 * driver) and the error paths when CUDA is off.
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cuda, info, ops, Tensor, type VlvError } from '../../lib/index.js';
import { goldenPath } from '../helpers/golden.js';

const root = join(import.meta.dirname, '..', '..');

// A host test binary from the build, or compiled here from `sources` when not built.
function hostTestBinary(name: string, sources: string[]): string {
  const built = join(root, 'build', 'Release', name);
  if (existsSync(built)) return built;
  const out = join(mkdtempSync(join(tmpdir(), 'vlv-cuda-host-')), name);
  execFileSync('c++', [
    '-std=c++17',
    '-O1',
    `-I${join(root, 'csrc')}`,
    ...sources.map((s) => join(root, s)),
    '-o',
    out,
    '-lpthread',
  ]);
  return out;
}

test('caching allocator bookkeeping (host test binary)', (t) => {
  const bin = hostTestBinary('vlv_cuda_host_tests', [
    'csrc/cuda/caching_allocator.cc',
    'csrc/cuda/test/caching_allocator_test.cc',
  ]);
  const r = spawnSync(bin, { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /\d+ checks passed/);
});

test('attention row loops and conv index maps of the CUDA kernels (host test binary)', (t) => {
  const r = spawnSync(hostTestBinary('vlv_cuda_kernel_tests', ['csrc/cuda/test/kernels_host_test.cc']), {
    encoding: 'utf8',
  });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /\d+ checks passed/);
});

test('tensor-core attention tile loops, emulated on the host (host test binary)', (t) => {
  const r = spawnSync(hostTestBinary('vlv_cuda_attention_tests', ['csrc/cuda/test/attention_tiles_host_test.cc']), {
    encoding: 'utf8',
  });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /\d+ checks passed/);
});

// Runs a snippet in a fresh process with the given environment; returns its stdout/stderr.
function child(env: Record<string, string>, code: string) {
  return spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', code], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
}

const printReason =
  "import {info} from './lib/index.ts'; const i = info(); console.log(JSON.stringify({b: i.backend, d: i.device, r: i.cuda.reason}))";

test('VLV_DEVICE=cpu skips CUDA and says so', (t) => {
  const r = child({ VLV_DEVICE: 'cpu' }, printReason);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), {
    b: 'cpu',
    d: 'cpu',
    r: 'off by request: VLV_DEVICE=cpu',
  });
});

test('a missing CUDA library is reported, the CPU path stays', (t) => {
  const r = child({ VLV_DEVICE: 'auto', VLV_CUDA_LIBRARY: '/nonexistent/libvlv_cuda.so' }, printReason);
  t.is(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as { b: string; r: string };
  t.is(o.b, 'cpu');
  t.regex(o.r, /^library missing or unloadable: .*nonexistent/);
});

test('with no usable GPU, info() says why and VLV_DEVICE=cuda fails loudly', (t) => {
  const i = info();
  if (i.cuda.available) return t.pass('a GPU is present: covered by npm run test:gpu');
  t.is(i.device, 'cpu');
  t.regex(i.cuda.reason, /^(no driver|driver too old|no device|library missing|probe failed|off by request)/);
  const r = child({ VLV_DEVICE: 'cuda' }, printReason);
  t.not(r.status, 0);
  t.regex(r.stderr, /VLV_DEVICE=cuda but CUDA is unusable/);
});

test('without CUDA, device calls throw E_DEVICE and CPU ops keep working', async (t) => {
  if (info().cuda.available) return t.pass('a GPU is present');
  const x = Tensor.from([1, 2, 3], [3]);
  const e = await t.throwsAsync<VlvError>(x.to('cuda'));
  t.is(e.code, 'E_DEVICE');
  t.regex(e.message, /CUDA backend is not loaded/);
  for (const f of [() => cuda.memory(), () => cuda.emptyCache(), () => cuda.random('randn', [4], 1)])
    t.is(t.throws<VlvError>(f).code, 'E_DEVICE');
  t.is(await x.to('cpu'), x);
  t.deepEqual(Array.from((await ops.scale(x, 2)).toFloat32()), [2, 4, 6]);
});

test('a model asked onto CUDA without a usable GPU is E_DEVICE, and the CPU load still works', async (t) => {
  const { Model, VlvError, info } = await import('../../lib/index.js');
  const folder = goldenPath('clip_text');
  if (info().cuda.available) {
    t.pass('a GPU is usable here: covered by npm run test:gpu');
    return;
  }
  const e = await t.throwsAsync(Model.load('clip_text', folder, { device: 'cuda' }), { instanceOf: VlvError });
  t.is(e?.code, 'E_DEVICE');
  const m = await Model.load('clip_text', folder, { device: 'cpu' });
  t.is(m.kind, 'clip_text');
  m.dispose();
  const r = await t.throwsAsync(Model.random('clip_text', folder, 0, { device: 'cuda' }), { instanceOf: VlvError });
  t.is(r?.code, 'E_DEVICE');
  const bad = await t.throwsAsync(Model.random('clip_text', folder, 0, { device: 'tpu' as 'cpu' }), {
    instanceOf: VlvError,
  });
  t.is(bad?.code, 'E_ARG');
  t.regex(bad?.message ?? '', /randomModel: device must be 'cpu' or 'cuda', got 'tpu'/);
});
