// The index maps of conv2d's im2col and col2im (conv.cu), shared by the device kernels and
// the host test (csrc/cuda/test/kernels_host_test.cc checks them against a direct
// convolution). col[g][k][n*P + p], k = (ci*kh + ky)*kw + kx, P = ho*wo; with g outermost the
// flat col row index is the input channel's: row = (ch*kh + ky)*kw + kx, ch = g*cig + ci.
#pragma once
#include <cstdint>

#include "cuda/abi.h"

#if !defined(VLV_HD)
#if defined(__CUDACC__)
#define VLV_HD __host__ __device__ __forceinline__
#else
#define VLV_HD inline
#endif
#endif

namespace vlv::cuda::conv {

VLV_HD int64_t col_size(const VlvCudaConv& c) { return c.cin * c.kh * c.kw * c.n * c.ho * c.wo; }

// The x index that col element e reads, or -1 in the padding.
VLV_HD int64_t im2col_source(const VlvCudaConv& c, int64_t e) {
  const int64_t P = c.ho * c.wo, NP = c.n * P;
  const int64_t col = e % NP, row = e / NP;
  const int64_t kx = row % c.kw, ky = (row / c.kw) % c.kh, ch = row / (c.kw * c.kh);
  const int64_t n = col / P, p = col % P, oy = p / c.wo, ox = p % c.wo;
  const int64_t iy = oy * c.sh - c.ph + ky, ix = ox * c.sw - c.pw + kx;
  if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) return -1;
  return ((n * c.cin + ch) * c.h + iy) * c.w + ix;
}

// Calls f(col index) for every col element that reads x element e, in a fixed (ky, kx) order.
template <class F>
VLV_HD void col2im_sources(const VlvCudaConv& c, int64_t e, F&& f) {
  const int64_t P = c.ho * c.wo, NP = c.n * P;
  const int64_t ix = e % c.w, iy = (e / c.w) % c.h, ch = (e / (c.w * c.h)) % c.cin, n = e / (c.w * c.h * c.cin);
  for (int64_t ky = 0; ky < c.kh; ++ky) {
    const int64_t ty = iy + c.ph - ky;
    if (ty < 0 || ty % c.sh) continue;
    const int64_t oy = ty / c.sh;
    if (oy >= c.ho) continue;
    for (int64_t kx = 0; kx < c.kw; ++kx) {
      const int64_t tx = ix + c.pw - kx;
      if (tx < 0 || tx % c.sw) continue;
      const int64_t ox = tx / c.sw;
      if (ox >= c.wo) continue;
      f(((ch * c.kh + ky) * c.kw + kx) * NP + n * P + oy * c.wo + ox);
    }
  }
}

}  // namespace vlv::cuda::conv
