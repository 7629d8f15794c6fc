/**
 * Loads the native addon (node-gyp-build: a local build first, then prebuilds/<platform>-<arch>/)
 * and, beside it, probes the CUDA backend library once. node-gyp-build cannot choose a GPU
 * flavour, so this file does: VLV_DEVICE=cpu skips CUDA, cuda|auto probe it.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VlvError } from './errors.js';

export type NativeDType = 'f32' | 'bf16' | 'f16' | 'i32' | 'i64' | 'u8' | 'bool' | 'f64';
export type AttrValue = number | bigint | boolean | string | number[];
export type Attrs = Record<string, AttrValue | undefined>;

export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: NativeDType;
  readonly device: 'cpu' | 'cuda';
  readonly nbytes: number;
  requiresGrad: boolean;
  readonly grad: NativeTensor | null;
  readonly hasGradFn: boolean;
  readonly disposed: boolean;
  toBuffer(): ArrayBuffer;
  zeroGrad(): void;
  detach(): NativeTensor;
  dispose(): void;
}

export interface NativeCudaDevice {
  name: string;
  computeCapability: string;
  totalMemory: number;
  multiprocessors: number;
}

export interface NativeCudaMemory {
  inUse: number;
  reserved: number;
  peakInUse: number;
  rawAllocs: number;
  cacheHits: number;
  deviceFree: number;
  deviceTotal: number;
}

export interface NativeCudaStatus {
  available: boolean;
  reason: string;
  library?: string;
  driverVersion?: number;
  runtimeVersion?: number;
  devices?: NativeCudaDevice[];
}

export interface NativeInfo {
  version: string;
  buildSystem: string;
  simd: 'scalar' | 'avx2' | 'avx512';
  avx512bf16: boolean;
  threads: number;
  cpuBytesInUse: number;
  cuda: NativeCudaStatus;
}

export interface NativeOpInfo {
  name: string;
  inputs: number;
  hasBackward: boolean;
  /** The family its files are named by (csrc/ops/ops.h). */
  family: string;
}

/** The addon's exports. Binding files may add more; these are the ones lib/ uses. */
export interface NativeAddon {
  tensorFromBuffer(dtype: NativeDType, shape: number[], data: ArrayBufferView): NativeTensor;
  runOp(name: string, inputs: (NativeTensor | null)[], attrs: Attrs, record: boolean): Promise<NativeTensor[]>;
  runOpSync(name: string, inputs: (NativeTensor | null)[], attrs: Attrs, record: boolean): NativeTensor[];
  backward(roots: NativeTensor[], grads: (NativeTensor | null)[]): Promise<void>;
  opList(): NativeOpInfo[];
  setNumThreads(n: number): void;
  info(): NativeInfo;
  initCuda(library: string, skipReason: string): NativeCudaStatus;
  tensorTo(t: NativeTensor, device: 'cpu' | 'cuda'): NativeTensor;
  cudaMemory(): NativeCudaMemory;
  cudaEmptyCache(): void;
  cudaSynchronize(): void;
  cudaTime(fn: () => void, reps: number): number;
  cudaGemmBackend(): string;
  cudaRandom(normal: boolean, shape: number[], seed: number, offset: number): NativeTensor;
  measureCeilings(secondsEach: number): Promise<{ fmaGflops: number; fmaGflops1t: number; copyGBps: number }>;
  [name: string]: unknown;
}

/** The package root: lib/ (sources via tsx) and dist/ (compiled) both sit one level below. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const require = createRequire(import.meta.url);

function loadAddon(): { addon: NativeAddon; path: string } {
  const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  let path: string;
  try {
    path = process.env.VLV_ADDON ?? nodeGypBuild.resolve(packageRoot);
  } catch (e) {
    throw new VlvError(
      'E_LOAD',
      `no vlv addon for ${process.platform}-${process.arch}: neither prebuilds/ nor build/Release has one ` +
        `(build it with 'npm run build:native')`,
      { cause: e },
    );
  }
  return { addon: require(path) as NativeAddon, path };
}

const loaded = loadAddon();
export const native: NativeAddon = loaded.addon;
export const addonPath: string = loaded.path;

function cudaLibraryPath(): string {
  if (process.env.VLV_CUDA_LIBRARY) return process.env.VLV_CUDA_LIBRARY;
  const candidate = join(dirname(addonPath), 'libvlv_cuda.so');
  return existsSync(candidate) ? candidate : '';
}

/** The CUDA backend library shipped beside the addon ('' when this build has none). */
export const cudaLibrary: string = cudaLibraryPath();

function probeCuda(): NativeCudaStatus {
  const want = (process.env.VLV_DEVICE ?? 'auto').toLowerCase();
  if (want === 'cpu') return native.initCuda('', 'off by request: VLV_DEVICE=cpu');
  if (process.platform !== 'linux') return native.initCuda('', `no CUDA backend is built for ${process.platform}`);
  const status = native.initCuda(cudaLibrary, '');
  if (want === 'cuda' && !status.available)
    throw new VlvError('E_DEVICE', `VLV_DEVICE=cuda but CUDA is unusable: ${status.reason}`);
  return status;
}

export const cudaStatus: NativeCudaStatus = probeCuda();
