// CUDA backend library: the probe the addon calls once to decide whether CUDA is usable.
#include <cuda_runtime.h>

#include <cstring>

#include "cuda/abi.h"

namespace {
__global__ void fill_kernel(float* p, float v, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] = v;
}

// A one-element launch and read-back: proves the SASS/PTX in this library runs on the card.
cudaError_t smoke_test() {
  float* d = nullptr;
  cudaError_t e = cudaMalloc(&d, sizeof(float));
  if (e != cudaSuccess) return e;
  fill_kernel<<<1, 32>>>(d, 3.0f, 1);
  float h = 0;
  e = cudaMemcpy(&h, d, sizeof(float), cudaMemcpyDeviceToHost);
  cudaFree(d);
  if (e == cudaSuccess && h != 3.0f) e = cudaErrorInvalidValue;
  return e;
}

void record(VlvCudaProbe* out, cudaError_t e) {
  if (out->error || e == cudaSuccess) return;
  out->error = int(e);
  std::strncpy(out->error_name, cudaGetErrorName(e), sizeof(out->error_name) - 1);
}
}  // namespace

extern "C" __attribute__((visibility("default"))) int vlv_cuda_probe(VlvCudaProbe* out) {
  std::memset(out, 0, sizeof(*out));
  out->abi_version = VLV_CUDA_ABI_VERSION;
  cudaRuntimeGetVersion(&out->runtime_version);
  record(out, cudaDriverGetVersion(&out->driver_version));
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  record(out, e);
  if (e != cudaSuccess) return 1;
  out->device_count = count;
  for (int i = 0; i < count && i < 8; ++i) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    VlvCudaDevice& d = out->devices[i];
    std::strncpy(d.name, p.name, sizeof(d.name) - 1);
    d.major = p.major;
    d.minor = p.minor;
    d.total_memory = p.totalGlobalMem;
    d.multiprocessors = p.multiProcessorCount;
  }
  if (count == 0) return 1;
  e = smoke_test();
  record(out, e);
  return e == cudaSuccess ? 0 : 1;
}
