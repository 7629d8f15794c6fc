// reduce_sum: y[kept index] = scale * sum over the reduced dims of x, for any split of x's
// dims into kept and reduced (both as strided views, ndim <= 8). One block per output
// element, each thread a strided share, block tree at the end: a fixed order, so the result
// does not change between runs. Serves sum, mean, the broadcast adjoint (sum_to_shape) and
// the nearest-upsample backward. Not measured on a GPU yet.
#include "cuda/kernels.h"
#include "ops/cuda/kernels/common.cuh"

namespace vlv::cuda {

namespace {
template <class T, class Y>
__global__ void reduce_kernel(Index8 kept, Index8 red, int64_t red_n, const T* x, float scale, Y* y) {
  int64_t base = offset_of(blockIdx.x, kept.ndim, kept.shape, kept.strides);
  float s = 0.f;
  for (int64_t i = threadIdx.x; i < red_n; i += blockDim.x)
    s += load(x, base + offset_of(i, red.ndim, red.shape, red.strides));
  s = block_sum(s);
  if (threadIdx.x == 0) store(y, blockIdx.x, s * scale);
}

int64_t count(const VlvCudaView& v) {
  int64_t n = 1;
  for (int d = 0; d < v.ndim; ++d) n *= v.shape[d];
  return n;
}
}  // namespace

int reduce_sum(int dtype, const VlvCudaView* kept, const VlvCudaView* reduced, const void* x, float scale, int y_dtype,
               void* y) {
  if (int rc = device_ok()) return rc;
  if (kept->ndim > VLV_CUDA_MAX_DIMS || reduced->ndim > VLV_CUDA_MAX_DIMS)
    return set_error(VLV_CUDA_E_ARG, "reduce_sum: at most 8 dims on CUDA");
  int64_t outs = count(*kept), red_n = count(*reduced);
  if (outs == 0) return VLV_CUDA_OK;
  if (outs > INT32_MAX) return set_error(VLV_CUDA_E_ARG, "reduce_sum: too many outputs for one launch");
  Index8 k = index_of(*kept), r = index_of(*reduced);
  int threads = red_n >= 4096 ? 512 : red_n >= 256 ? 256 : 32;
  return VLV_FLOAT_SWITCH(dtype, T, {
    auto X = static_cast<const T*>(x);
    if (y_dtype == VLV_CUDA_F32)
      reduce_kernel<<<unsigned(outs), threads, 0, stream()>>>(k, r, red_n, X, scale, static_cast<float*>(y));
    else if (y_dtype == dtype)
      reduce_kernel<<<unsigned(outs), threads, 0, stream()>>>(k, r, red_n, X, scale, static_cast<T*>(y));
    else return set_error(VLV_CUDA_E_ARG, "reduce_sum: the output is f32 or the input's dtype");
    return launched("reduce_sum");
  });
}

}  // namespace vlv::cuda
