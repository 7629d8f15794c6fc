/**
 * The CUDA device layer: memory of the caching allocator, emptying its cache, stream
 * synchronisation, device-side timing, which GEMM backend serves (cuBLAS loaded at run time
 * or the own mma.sync kernels), and Philox random numbers made on the device. Every call
 * throws E_DEVICE when the CUDA backend is not loaded (see info().cuda.reason).
 */
import { cudaStatus, native, type NativeCudaMemory } from './native.js';
import { wrapSync } from './errors.js';
import { Tensor } from './tensor.js';

export type CudaMemory = NativeCudaMemory;

export const cuda = {
  /** Whether the CUDA backend loaded and its kernel table serves tensors on 'cuda'. */
  get available(): boolean {
    return cudaStatus.available;
  },
  /** Bytes in use and reserved by the caching allocator, and what the device reports free. */
  memory(): CudaMemory {
    return wrapSync(() => native.cudaMemory());
  },
  /** Gives every cached (unused) block back to the device. */
  emptyCache(): void {
    wrapSync(() => native.cudaEmptyCache());
  },
  /** Waits for all queued work; an asynchronous CUDA fault surfaces here as E_DEVICE. */
  synchronize(): void {
    wrapSync(() => native.cudaSynchronize());
  },
  /** Device milliseconds per call of fn (events around `reps` calls). */
  time(fn: () => void, reps = 1): number {
    return wrapSync(() => native.cudaTime(fn, reps));
  },
  /** "cublas (<path>)" or "mma.sync (<why no cuBLAS>)". */
  gemmBackend(): string {
    return wrapSync(() => native.cudaGemmBackend());
  },
  /** randn / rand on the device: the same Philox stream as the CPU ops for seed and offset. */
  random(kind: 'randn' | 'rand', shape: readonly number[], seed: number, offset = 0): Tensor {
    return new Tensor(wrapSync(() => native.cudaRandom(kind === 'randn', [...shape], seed, offset)));
  },
};
