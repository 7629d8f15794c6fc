// timestep_embedding on the device (diffusers get_timestep_embedding, ops.h), so a UNet call
// makes no host round trip and can be captured into a CUDA graph: one thread per (row, freq),
// in double like the CPU kernel (csrc/ops/cpu/embedding.cc), rounded to f32 at the store;
// an odd dim's last column is 0. A few hundred elements per call. Not run on a GPU yet.
#include "cuda/kernels.h"
#include "ops/cuda/kernels/common.cuh"

namespace vlv::cuda {

namespace {
__device__ __forceinline__ double timestep_at(const void* t, int t_dtype, int64_t i) {
  switch (t_dtype) {
    case VLV_CUDA_F32: return double(static_cast<const float*>(t)[i]);
    case VLV_CUDA_I32: return double(static_cast<const int32_t*>(t)[i]);
    default: return double(static_cast<const int64_t*>(t)[i]);
  }
}

__global__ void timestep_kernel(VlvCudaTimestep a, int t_dtype, const void* t, float* y) {
  VLV_KERNEL_LOOP(e, a.n * a.dim) {
    const int64_t n = e / a.dim, c = e - n * a.dim;
    const int64_t sin_at = a.flip ? a.half : 0, cos_at = a.flip ? 0 : a.half;
    const bool is_sin = c >= sin_at && c < sin_at + a.half, is_cos = c >= cos_at && c < cos_at + a.half;
    if (!is_sin && !is_cos) {
      y[e] = 0.f;
      continue;
    }
    const int64_t j = c - (is_sin ? sin_at : cos_at);
    const double freq = exp(-log(a.max_period) * double(j) / (double(a.half) - a.shift));
    const double arg = a.scale * (timestep_at(t, t_dtype, n) * freq);
    y[e] = float(is_sin ? sin(arg) : cos(arg));
  }
}
}  // namespace

int timestep_embedding(const VlvCudaTimestep* a, int t_dtype, const void* t, float* y) {
  if (int rc = device_ok()) return rc;
  if (t_dtype != VLV_CUDA_F32 && t_dtype != VLV_CUDA_I32 && t_dtype != VLV_CUDA_I64)
    return set_error(VLV_CUDA_E_ARG, "timestep_embedding: t must be f32, i32 or i64");
  const int64_t total = a->n * a->dim;
  if (total == 0) return VLV_CUDA_OK;
  constexpr int kThreads = 256;
  timestep_kernel<<<blocks_for(total, kThreads), kThreads, 0, stream()>>>(*a, t_dtype, t, y);
  return launched("timestep_embedding");
}

}  // namespace vlv::cuda
