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

// The x index that col element (row, column) reads, or -1 in the padding; *plane (when
// given) receives the (image, channel) plane n*cin + ch it lies in. The implicit-GEMM conv
// (conv_igemm.h) gathers its B tiles through this map.
VLV_HD int64_t im2col_source_rc(const VlvCudaConv& c, int64_t row, int64_t col, int64_t* plane = nullptr) {
  const int64_t P = c.ho * c.wo;
  const int64_t kx = row % c.kw, ky = (row / c.kw) % c.kh, ch = row / (c.kw * c.kh);
  const int64_t n = col / P, p = col % P, oy = p / c.wo, ox = p % c.wo;
  const int64_t iy = oy * c.sh - c.ph + ky, ix = ox * c.sw - c.pw + kx;
  if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) return -1;
  if (plane) *plane = n * c.cin + ch;
  return ((n * c.cin + ch) * c.h + iy) * c.w + ix;
}

// The x index that col element e reads, or -1 in the padding.
VLV_HD int64_t im2col_source(const VlvCudaConv& c, int64_t e) {
  const int64_t NP = c.n * c.ho * c.wo;
  return im2col_source_rc(c, e / NP, e % NP);
}

// The output position (one axis) whose tap k reads input position i: false when none
// (between strides or outside the output).
VLV_HD bool tap_source(int64_t i, int64_t k, int64_t pad, int64_t stride, int64_t out, int64_t* o) {
  const int64_t t = i + pad - k;
  if (t < 0 || t % stride) return false;
  *o = t / stride;
  return *o < out;
}

// Calls f(col index) for every col element that reads x element e, in a fixed (ky, kx) order.
template <class F>
VLV_HD void col2im_sources(const VlvCudaConv& c, int64_t e, F&& f) {
  const int64_t P = c.ho * c.wo, NP = c.n * P;
  const int64_t ix = e % c.w, iy = (e / c.w) % c.h, ch = (e / (c.w * c.h)) % c.cin, n = e / (c.w * c.h * c.cin);
  for (int64_t ky = 0; ky < c.kh; ++ky) {
    int64_t oy, ox;
    if (!tap_source(iy, ky, c.ph, c.sh, c.ho, &oy)) continue;
    for (int64_t kx = 0; kx < c.kw; ++kx) {
      if (!tap_source(ix, kx, c.pw, c.sw, c.wo, &ox)) continue;
      f(((ch * c.kh + ky) * c.kw + kx) * NP + n * P + oy * c.wo + ox);
    }
  }
}

// The data gradient as a gather (groups == 1): gx[n][ci][iy][ix] = sum over row =
// (co*kh + ky)*kw + kx of w[co][ci][ky][kx] * gy at the index below (-1: no tap), with
// col = (n*h + iy)*w + ix.
VLV_HD int64_t dgrad_source_rc(const VlvCudaConv& c, int64_t row, int64_t col) {
  const int64_t kx = row % c.kw, ky = (row / c.kw) % c.kh, co = row / (c.kw * c.kh);
  const int64_t ix = col % c.w, iy = (col / c.w) % c.h, n = col / (c.w * c.h);
  int64_t oy, ox;
  if (!tap_source(iy, ky, c.ph, c.sh, c.ho, &oy) || !tap_source(ix, kx, c.pw, c.sw, c.wo, &ox)) return -1;
  return ((n * c.cout + co) * c.ho + oy) * c.wo + ox;
}

}  // namespace vlv::cuda::conv
