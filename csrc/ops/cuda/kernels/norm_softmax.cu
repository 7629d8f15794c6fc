// Softmax over the last dim, one block per row (max, sum of exp, normalise; three passes
// over the row, which stays in L1/L2 for model sizes), and its backward
// gx = y * (gy - sum(gy * y)). Block reductions in a fixed order: deterministic.
// Not measured on a GPU yet.
#include "cuda/kernels.h"
#include "ops/cuda/kernels/common.cuh"

namespace vlv::cuda {

namespace {
constexpr int kThreads = 256;

template <class T>
__global__ void softmax_kernel(const T* x, T* y, int64_t cols) {
  const T* xr = x + int64_t(blockIdx.x) * cols;
  T* yr = y + int64_t(blockIdx.x) * cols;
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, load(xr, j));
  m = block_max(m);
  float s = 0.f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += expf(load(xr, j) - m);
  s = block_sum(s);
  float inv = 1.f / s;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) store(yr, j, expf(load(xr, j) - m) * inv);
}

template <class T>
__global__ void softmax_backward_kernel(const T* y, const T* gy, T* gx, int64_t cols) {
  int64_t base = int64_t(blockIdx.x) * cols;
  float dot = 0.f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) dot += load(y, base + j) * load(gy, base + j);
  dot = block_sum(dot);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
    store(gx, base + j, load(y, base + j) * (load(gy, base + j) - dot));
}
}  // namespace

int softmax(int dtype, int64_t rows, int64_t cols, const void* x, void* y) {
  if (int rc = device_ok()) return rc;
  if (rows == 0 || cols == 0) return VLV_CUDA_OK;
  if (rows > INT32_MAX) return set_error(VLV_CUDA_E_ARG, "softmax: too many rows for one launch");
  return VLV_FLOAT_SWITCH(dtype, T, {
    softmax_kernel<T><<<unsigned(rows), kThreads, 0, stream()>>>(static_cast<const T*>(x), static_cast<T*>(y), cols);
    return launched("softmax");
  });
}

int softmax_backward(int dtype, int64_t rows, int64_t cols, const void* y, const void* gy, void* gx) {
  if (int rc = device_ok()) return rc;
  if (rows == 0 || cols == 0) return VLV_CUDA_OK;
  if (rows > INT32_MAX) return set_error(VLV_CUDA_E_ARG, "softmax: too many rows for one launch");
  return VLV_FLOAT_SWITCH(dtype, T, {
    softmax_backward_kernel<T><<<unsigned(rows), kThreads, 0, stream()>>>(
        static_cast<const T*>(y), static_cast<const T*>(gy), static_cast<T*>(gx), cols);
    return launched("softmax_backward");
  });
}

}  // namespace vlv::cuda
