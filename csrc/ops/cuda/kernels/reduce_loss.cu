// cross_entropy over logits[N, C] with i32/i64 targets: one block per row computes the
// row's logsumexp and loss = lse - logit[target] (0 and valid = 0 for ignore_index rows;
// a target out of range gives NaN so it cannot pass silently); the backward writes
// (softmax - onehot) * grow[row]. The reduction over rows (mean over valid rows / sum) is
// composed in the addon from reduce_sum. mse_loss is fully composed there.
// Not measured on a GPU yet.
#include "cuda/kernels.h"
#include "ops/cuda/kernels/common.cuh"

namespace vlv::cuda {

namespace {
__device__ __forceinline__ int64_t target_of(const void* t, int i64, int64_t r) {
  return i64 ? static_cast<const int64_t*>(t)[r] : int64_t(static_cast<const int32_t*>(t)[r]);
}

template <class T>
__global__ void ce_kernel(const T* logits, int64_t classes, const void* targets, int t64, int64_t ignore, float* loss,
                          float* valid, float* lse_out) {
  int64_t r = blockIdx.x, base = r * classes;
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) m = fmaxf(m, load(logits, base + j));
  m = block_max(m);
  float s = 0.f;
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) s += expf(load(logits, base + j) - m);
  s = block_sum(s);
  if (threadIdx.x == 0) {
    float lse = m + logf(s);
    int64_t t = target_of(targets, t64, r);
    bool ign = t == ignore;
    lse_out[r] = lse;
    valid[r] = ign ? 0.f : 1.f;
    loss[r] = ign ? 0.f : (t < 0 || t >= classes) ? NAN : lse - load(logits, base + t);
  }
}

template <class T>
__global__ void ce_backward_kernel(const T* logits, int64_t classes, const void* targets, int t64, int64_t ignore,
                                   const float* lse, const float* grow, T* g) {
  int64_t r = blockIdx.x, base = r * classes, t = target_of(targets, t64, r);
  bool ign = t == ignore;
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) {
    float p = expf(load(logits, base + j) - lse[r]) - (j == t ? 1.f : 0.f);
    store(g, base + j, ign ? 0.f : p * grow[r]);
  }
}
}  // namespace

int cross_entropy(int dtype, int64_t rows, int64_t classes, const void* logits, int t_dtype, const void* targets,
                  int64_t ignore_index, float* loss, float* valid, float* lse) {
  if (int rc = device_ok()) return rc;
  if (rows == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(dtype, T, {
    ce_kernel<T><<<unsigned(rows), 256, 0, stream()>>>(static_cast<const T*>(logits), classes, targets,
                                                       t_dtype == VLV_CUDA_I64, ignore_index, loss, valid, lse);
    return launched("cross_entropy");
  });
}

int cross_entropy_backward(int dtype, int64_t rows, int64_t classes, const void* logits, int t_dtype,
                           const void* targets, int64_t ignore_index, const float* lse, const float* grow,
                           void* glogits) {
  if (int rc = device_ok()) return rc;
  if (rows == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(dtype, T, {
    ce_backward_kernel<T><<<unsigned(rows), 256, 0, stream()>>>(static_cast<const T*>(logits), classes, targets,
                                                                t_dtype == VLV_CUDA_I64, ignore_index, lse, grow,
                                                                static_cast<T*>(glogits));
    return launched("cross_entropy_backward");
  });
}

}  // namespace vlv::cuda
