// lib/native.ts types the addon once (NativeAddon): the built addon exports exactly the names
// typed there. The record below must list every key of NativeAddon and nothing else (the
// type checker holds it to that), so a function added on either side without the other fails.
import test from 'ava';
import { native, type NativeAddon } from '../../lib/native.js';
import { goldenPath } from '../helpers/golden.js';

const typed: Record<keyof NativeAddon, true> = {
  NativeTensor: true,
  tensorFromBuffer: true,
  tensorTo: true,
  runOp: true,
  runOpSync: true,
  backward: true,
  opList: true,
  setNumThreads: true,
  info: true,
  initCuda: true,
  measureCeilings: true,
  cudaMemory: true,
  cudaEmptyCache: true,
  cudaSynchronize: true,
  cudaTime: true,
  cudaGemmBackend: true,
  cudaRandom: true,
  safetensorsLoad: true,
  safetensorsSave: true,
  safetensorsInspect: true,
  safetensorsResolve: true,
  torchCheckpointLoad: true,
  torchCheckpointInspect: true,
  NativeModel: true,
  loadModel: true,
  randomModel: true,
  modelKinds: true,
  guidedSample: true,
  createCancelToken: true,
};

test('the addon exports exactly the functions lib/native.ts types', (t) => {
  t.deepEqual(Object.keys(native).sort(), Object.keys(typed).sort());
  for (const name of Object.keys(typed)) t.is(typeof native[name as keyof NativeAddon], 'function', name);
});

test('tensor and model handles are instances of the exported classes', async (t) => {
  const x = native.tensorFromBuffer('f32', [2], new Float32Array([1, 2]));
  t.true(x instanceof native.NativeTensor);
  x.dispose();
  t.true(native.modelKinds().includes('scheduler'));
  const m = await native.loadModel('scheduler', goldenPath('schedulers', 'ddim-epsilon'));
  t.true(m instanceof native.NativeModel);
  t.is(m.kind, 'scheduler');
  m.dispose();
  t.false(native.createCancelToken().cancelled);
});
