import { addonPath, cudaLibrary, cudaStatus, native, type NativeCudaStatus } from './native.js';

export interface VlvInfo {
  /** Package and addon version. */
  version: string;
  /** 'cpu' or 'cuda': where ops on new tensors run by default. */
  backend: 'cpu' | 'cuda';
  /** The device `Tensor.to()` targets for a model asked for `device: 'cuda'`: 'cuda' when usable. */
  device: 'cpu' | 'cuda';
  /** 'cpu+cuda' when the CUDA backend library was built and shipped beside the addon, else 'cpu'. */
  flavour: 'cpu' | 'cpu+cuda';
  /** How the addon was built: 'cmake-js' (full build) or 'node-gyp' (CPU fallback). */
  buildSystem: string;
  /** Path of the loaded addon. */
  addon: string;
  /** The SIMD level picked at run time (VLV_SIMD caps it). */
  simd: 'scalar' | 'avx2' | 'avx512';
  avx512bf16: boolean;
  /** Worker threads of the CPU pool (VLV_NUM_THREADS overrides). */
  threads: number;
  /** CUDA: available, or exactly why not. */
  cuda: NativeCudaStatus;
}

/** What this build is and which backend runs. */
export function info(): VlvInfo {
  const i = native.info();
  return {
    version: i.version,
    backend: cudaStatus.available ? 'cuda' : 'cpu',
    device: cudaStatus.available ? 'cuda' : 'cpu',
    flavour: cudaLibrary ? 'cpu+cuda' : 'cpu',
    buildSystem: i.buildSystem,
    addon: addonPath,
    simd: i.simd,
    avx512bf16: i.avx512bf16,
    threads: i.threads,
    cuda: i.cuda,
  };
}

/** Resizes the CPU thread pool. */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
