// The strided copy the shape ops are made of (permute, concat, split, slice off dim 0, expand,
// nearest upsampling): y at dst_strides <- x at the view's strides, any dtype moved as 1, 2,
// 4 or 8-byte elements. Not measured on a GPU yet.
#include "cuda/kernels.h"
#include "ops/cuda/kernels/common.cuh"

namespace vlv::cuda {

namespace {
template <class E>
__global__ void copy_strided_kernel(Index8 src, const E* x, Index8 dst, E* y, int64_t n) {
  VLV_KERNEL_LOOP(i, n)
  y[offset_of(i, src.ndim, src.shape, dst.strides)] = x[offset_of(i, src.ndim, src.shape, src.strides)];
}
}  // namespace

int copy_strided(int elem_bytes, const VlvCudaView* src, const void* x, const int64_t* dst_strides, void* y) {
  if (int rc = device_ok()) return rc;
  if (int rc = check_view(src, "copy_strided")) return rc;
  int64_t n = numel(*src);
  if (n == 0) return VLV_CUDA_OK;
  Index8 s = index_of(*src), d = with_strides(s, dst_strides);
  unsigned g = blocks_for(n, 256);
  switch (elem_bytes) {
    case 1:
      copy_strided_kernel<<<g, 256, 0, stream()>>>(s, static_cast<const uint8_t*>(x), d, static_cast<uint8_t*>(y), n);
      break;
    case 2:
      copy_strided_kernel<<<g, 256, 0, stream()>>>(s, static_cast<const uint16_t*>(x), d, static_cast<uint16_t*>(y), n);
      break;
    case 4:
      copy_strided_kernel<<<g, 256, 0, stream()>>>(s, static_cast<const uint32_t*>(x), d, static_cast<uint32_t*>(y), n);
      break;
    case 8:
      copy_strided_kernel<<<g, 256, 0, stream()>>>(s, static_cast<const uint64_t*>(x), d, static_cast<uint64_t*>(y), n);
      break;
    default: return set_error(VLV_CUDA_E_ARG, "copy_strided: element size " + std::to_string(elem_bytes));
  }
  return launched("copy_strided");
}

}  // namespace vlv::cuda
