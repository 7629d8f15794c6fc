// Shared by every .cu file of the CUDA library: the error state behind the C ABI, the
// current device's stream, f32/bf16/f16 loads and stores, and launch helpers.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "cuda/abi.h"

namespace vlv::cuda {

// Records a failure for last_error() and returns its code.
int set_error(int code, const std::string& message);
// Checks a CUDA result: any error marks the device unusable (E_DEVICE from then on).
int check(cudaError_t e, const char* what);
// E_DEVICE when the current device was marked unusable, else OK.
int device_ok();
cudaStream_t stream();
int current_device();
// Scratch device memory from the caching allocator, freed at scope end (after the stream
// has consumed it: frees are stream-ordered through the single stream).
class Scratch {
 public:
  explicit Scratch(size_t bytes);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  void* get() const { return p_; }
  int status() const { return status_; }

 private:
  void* p_ = nullptr;
  int status_ = VLV_CUDA_OK;
};

// Checks the launch that just happened.
inline int launched(const char* what) { return check(cudaGetLastError(), what); }

inline unsigned blocks_for(int64_t n, int threads) {
  int64_t b = (n + threads - 1) / threads;
  return unsigned(b < 1 ? 1 : (b > 65535 * 16 ? 65535 * 16 : b));
}

// Loads and stores of the float kinds, computing in f32.
__device__ __forceinline__ float load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __nv_bfloat16* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ float load(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ void store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store(__nv_bfloat16* p, int64_t i, float v) { p[i] = __float2bfloat16_rn(v); }
__device__ __forceinline__ void store(__half* p, int64_t i, float v) { p[i] = __float2half_rn(v); }

// Grid-stride loop over n elements.
#define VLV_KERNEL_LOOP(i, n)                                                                                          \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// Runs BODY with T bound to the C++ type of a float dtype; E_ARG for any other dtype.
#define VLV_FLOAT_SWITCH(dtype, T, ...)                                                                                \
  [&]() -> int {                                                                                                       \
    switch (dtype) {                                                                                                   \
      case VLV_CUDA_F32: {                                                                                             \
        using T = float;                                                                                               \
        __VA_ARGS__;                                                                                                   \
      }                                                                                                                \
      case VLV_CUDA_BF16: {                                                                                            \
        using T = __nv_bfloat16;                                                                                       \
        __VA_ARGS__;                                                                                                   \
      }                                                                                                                \
      case VLV_CUDA_F16: {                                                                                             \
        using T = __half;                                                                                              \
        __VA_ARGS__;                                                                                                   \
      }                                                                                                                \
      default: return ::vlv::cuda::set_error(VLV_CUDA_E_ARG, "CUDA kernels take f32, bf16 or f16 data");               \
    }                                                                                                                  \
  }()

// A shape and its element strides (ndim <= 8), passed to kernels by value.
struct Index8 {
  int ndim;
  int64_t shape[VLV_CUDA_MAX_DIMS];
  int64_t strides[VLV_CUDA_MAX_DIMS];
};
// A view's shape and strides as the kernels take them (by value).
inline Index8 index_of(const VlvCudaView& v) {
  Index8 r{};
  r.ndim = v.ndim;
  for (int d = 0; d < v.ndim; ++d) {
    r.shape[d] = v.shape[d];
    r.strides[d] = v.strides[d];
  }
  return r;
}
// The view's strides replaced (the destination of a strided copy).
inline Index8 with_strides(Index8 r, const int64_t* strides) {
  for (int d = 0; d < r.ndim; ++d) r.strides[d] = strides[d];
  return r;
}

// Elements of a view.
inline int64_t numel(const VlvCudaView& v) {
  int64_t n = 1;
  for (int d = 0; d < v.ndim; ++d) n *= v.shape[d];
  return n;
}

// VLV_CUDA_E_ARG for a rank the kernels cannot index.
inline int check_view(const VlvCudaView* v, const char* op) {
  if (v->ndim < 0 || v->ndim > VLV_CUDA_MAX_DIMS)
    return set_error(VLV_CUDA_E_ARG, std::string(op) + ": at most 8 dims on CUDA, got " + std::to_string(v->ndim));
  return VLV_CUDA_OK;
}
// Element offset of linear index i of `shape` under `strides`.
__device__ __forceinline__ int64_t offset_of(int64_t i, int ndim, const int64_t* shape, const int64_t* strides) {
  int64_t off = 0;
  for (int d = ndim - 1; d >= 0; --d) {
    int64_t q = i / shape[d];
    off += (i - q * shape[d]) * strides[d];
    i = q;
  }
  return off;
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
// Sum over the block (blockDim.x a multiple of 32, <= 1024); every thread gets the result.
// Fixed tree order: deterministic.
__device__ __forceinline__ float block_sum(float v) {
  __shared__ float part[32];
  __syncthreads();  // part[] may still be read by a previous call
  v = warp_sum(v);
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) part[warp] = v;
  __syncthreads();
  int nw = blockDim.x >> 5;
  v = lane < nw ? part[lane] : 0.f;
  return warp_sum(v);
}
__device__ __forceinline__ float block_max(float v) {
  __shared__ float part[32];
  __syncthreads();
  v = warp_max(v);
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) part[warp] = v;
  __syncthreads();
  int nw = blockDim.x >> 5;
  v = lane < nw ? part[lane] : -INFINITY;
  return warp_max(v);
}

}  // namespace vlv::cuda
