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

/** A cancel token of csrc/napi/call_context_binding.cc: cancel() stops the call it was given to. */
export interface NativeCancelToken {
  cancel(): void;
  readonly cancelled: boolean;
}

/**
 * A long call's progress callback (called on the JS thread). The engine sends one last event
 * ('', -1, 0) behind the others: csrc/napi/call_context_binding.h's kProgressEndStage.
 */
export type NativeProgress = (stage: string, done: number, total: number, ids?: number[]) => void;

/** A model the engine loaded (csrc/napi/model_binding.cc), run by method name on named tensors. */
export interface NativeModel {
  readonly kind: string;
  /** The typed config the engine read (the file's field names, defaults filled in). */
  readonly config: unknown;
  run(
    method: string,
    inputs: Record<string, NativeTensor>,
    options: Attrs,
    record: boolean,
    cancel: NativeCancelToken | null,
    onProgress: NativeProgress | null,
  ): Promise<Record<string, NativeTensor>>;
  parameters(): Record<string, NativeTensor>;
  dispose(): void;
}

/** One file's header as csrc/napi/io_binding.cc reads it (dtype as the file spells it: "F32", ...). */
export interface NativeSafetensorsHeader {
  tensors: { name: string; dtype: string; shape: number[]; offsets: [number, number] }[];
  metadata: Record<string, string> | null;
  headerBytes: number;
  fileBytes: number;
}

/** A torch.save checkpoint as csrc/napi/io_binding.cc inspects it (dtype as safetensors spells it). */
export interface NativeTorchCheckpointEntry {
  name: string;
  /** "F32", "BF16", "F16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL". */
  dtype: string;
  shape: number[];
  /** In elements; a view that is not row-major is materialised contiguously when loaded. */
  stride: number[];
  storageOffset: number;
  /** The storage's record key (`<archive>/data/<key>`). */
  storage: string;
  storageBytes: number;
  /** The first earlier name viewing the same storage, offset, shape and stride (a tied weight). */
  aliasOf: string | null;
}

export interface NativeTorchCheckpointInfo {
  tensors: NativeTorchCheckpointEntry[];
  fileBytes: number;
  storageBytes: number;
}

/**
 * Every export of the addon (csrc/napi/*.cc, one exports.Set each), typed once: lib/ reaches
 * the engine only through this. test/infra/native.test.ts checks that the built addon exports
 * exactly these names.
 */
export interface NativeAddon {
  // tensors (tensor_wrap.cc): the class is exported for instanceof only, handles come from the functions.
  readonly NativeTensor: abstract new () => NativeTensor;
  tensorFromBuffer(dtype: NativeDType, shape: number[], data: ArrayBufferView): NativeTensor;
  tensorTo(t: NativeTensor, device: 'cpu' | 'cuda'): NativeTensor;
  // ops and autograd (ops_binding.cc)
  runOp(name: string, inputs: (NativeTensor | null)[], attrs: Attrs, record: boolean): Promise<NativeTensor[]>;
  runOpSync(name: string, inputs: (NativeTensor | null)[], attrs: Attrs, record: boolean): NativeTensor[];
  backward(roots: NativeTensor[], grads: (NativeTensor | null)[]): Promise<void>;
  opList(): NativeOpInfo[];
  setNumThreads(n: number): void;
  // build, CPU and CUDA status (info_binding.cc)
  info(): NativeInfo;
  initCuda(library: string, skipReason: string): NativeCudaStatus;
  measureCeilings(secondsEach: number): Promise<{ fmaGflops: number; fmaGflops1t: number; copyGBps: number }>;
  // the CUDA device layer (cuda_binding.cc)
  cudaMemory(): NativeCudaMemory;
  cudaEmptyCache(): void;
  cudaSynchronize(): void;
  cudaTime(fn: () => void, reps: number): number;
  cudaGemmBackend(): string;
  cudaRandom(normal: boolean, shape: number[], seed: number, offset: number): NativeTensor;
  // safetensors (io_binding.cc)
  safetensorsLoad(
    path: string,
    options: { dtype?: NativeDType; names?: string[] },
  ): Promise<{ tensors: Record<string, NativeTensor>; metadata: Record<string, string> }>;
  safetensorsSave(
    path: string,
    tensors: Record<string, NativeTensor>,
    metadata?: Record<string, string>,
  ): Promise<void>;
  safetensorsInspect(path: string): NativeSafetensorsHeader;
  safetensorsResolve(path: string): { index: string | null; files: string[] };
  // torch.save checkpoints, read weights-only (io_binding.cc)
  torchCheckpointLoad(
    path: string,
  ): Promise<{ tensors: Record<string, NativeTensor>; aliases: Record<string, string> }>;
  torchCheckpointInspect(path: string): NativeTorchCheckpointInfo;
  // models (model_binding.cc): the class is exported for instanceof only.
  readonly NativeModel: abstract new () => NativeModel;
  loadModel(
    kind: string,
    folder: string,
    dtype?: string,
    device?: string,
    sources?: Record<string, string>,
  ): Promise<NativeModel>;
  randomModel(kind: string, config: string, seed: number, device?: string): Promise<NativeModel>;
  modelKinds(): string[];
  guidedSample(
    unet: NativeModel,
    vae: NativeModel,
    scheduler: NativeModel,
    inputs: Record<string, NativeTensor>,
    options: Attrs,
    cancel: NativeCancelToken | null,
    onProgress: NativeProgress | null,
  ): Promise<{ images: NativeTensor; latents: NativeTensor; graphReplays: number; graphNote: string }>;
  // cancellation (call_context_binding.cc)
  createCancelToken(): NativeCancelToken;
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
