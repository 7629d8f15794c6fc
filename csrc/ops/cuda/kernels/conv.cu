// conv2d's data movement on CUDA: im2col of a whole batch and its adjoint col2im. The addon
// (ops/cuda/conv.cc) turns conv2d into batched GEMMs over the groups on them:
//   col[g][k][n*P + p], k = (ci*kh + ky)*kw + kx over the group's input channels ci, P = ho*wo,
//   holds x[n][g*cig + ci][oy*sh - ph + ky][ox*sw - pw + kx] (0 outside the image).
// col2im is written as a gather (each input element sums the col entries that read it, in
// a fixed (ky, kx) order): no atomics, deterministic. f32 / bf16 / f16; one thread per output
// element; the index maps are in conv_index.h (checked on the host by
// csrc/cuda/test/kernels_host_test.cc). The path of f32 and grouped convolutions, and of
// everything under VLV_CONV=im2col; bf16 / f16 with groups 1 take the implicit GEMM
// (conv_igemm.cu). Not run on a GPU.
#include "cuda/kernels.h"
#include "ops/cuda/kernels/common.cuh"
#include "ops/cuda/kernels/conv_index.h"

namespace vlv::cuda {

namespace {
constexpr int kThreads = 256;

template <class T>
__global__ void im2col_kernel(VlvCudaConv c, const T* __restrict__ x, T* __restrict__ col) {
  VLV_KERNEL_LOOP(e, conv::col_size(c)) {
    const int64_t src = conv::im2col_source(c, e);
    store(col, e, src < 0 ? 0.f : load(x, src));
  }
}

template <class T>
__global__ void col2im_kernel(VlvCudaConv c, const T* __restrict__ gcol, T* __restrict__ gx) {
  VLV_KERNEL_LOOP(e, c.n * c.cin * c.h * c.w) {
    float s = 0.f;
    conv::col2im_sources(c, e, [&](int64_t k) { s += load(gcol, k); });
    store(gx, e, s);
  }
}
}  // namespace

int im2col(const VlvCudaConv* c, const void* x, void* col) {
  if (int rc = device_ok()) return rc;
  const int64_t total = conv::col_size(*c);
  if (total == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(c->dtype, T, {
    im2col_kernel<T>
        <<<blocks_for(total, kThreads), kThreads, 0, stream()>>>(*c, static_cast<const T*>(x), static_cast<T*>(col));
    return launched("conv2d (im2col)");
  });
}

int col2im(const VlvCudaConv* c, const void* gcol, void* gx) {
  if (int rc = device_ok()) return rc;
  const int64_t total = c->n * c->cin * c->h * c->w;
  if (total == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(c->dtype, T, {
    col2im_kernel<T>
        <<<blocks_for(total, kThreads), kThreads, 0, stream()>>>(*c, static_cast<const T*>(gcol), static_cast<T*>(gx));
    return launched("conv2d backward (col2im)");
  });
}

}  // namespace vlv::cuda
