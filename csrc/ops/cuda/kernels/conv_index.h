// The index maps of conv2d's im2col and col2im (conv.cu), shared by the device kernels and
// the host test (csrc/cuda/test/kernels_host_test.cc checks them against a direct
// convolution). col[g][k][n*P + p], k = (ci*kh + ky)*kw + kx, P = ho*wo; with g outermost the
// flat col row index is the input channel's: row = (ch*kh + ky)*kw + kx, ch = g*cig + ci.
#pragma once
#include <cstdint>

#include "cuda/abi.h"
#include "ops/cuda/kernels/hd.h"

namespace vlv::cuda::conv {

VLV_HD int64_t col_size(const VlvCudaConv& c) { return c.cin * c.kh * c.kw * c.n * c.ho * c.wo; }

// A row of col (one tap of one channel: row = (ch*kh + ky)*kw + kx) and a column (one pixel of
// one image), decomposed once: the implicit GEMM (conv_igemm.h) stages them per tile.
struct Tap {
  int64_t k, ch, ky, kx;
};
struct Pixel {
  int64_t n, y, x;
  int64_t out;  // the column's element at channel 0 of the GEMM's NCHW output (n*M*plane + position)
};

VLV_HD Tap tap_of(const VlvCudaConv& c, int64_t row) {
  return Tap{row, row / (c.kw * c.kh), (row / c.kw) % c.kh, row % c.kw};
}

// Column col = n*ho*wo + oy*wo + ox of im2col: its image, the input position of tap (0, 0),
// and its place in y[n, cout, ho, wo] at channel 0.
VLV_HD Pixel out_pixel(const VlvCudaConv& c, int64_t col) {
  const int64_t P = c.ho * c.wo, p = col % P, n = col / P;
  return Pixel{n, p / c.wo * c.sh - c.ph, p % c.wo * c.sw - c.pw, n * c.cout * P + p};
}

// The x index that tap t of pixel q reads, or -1 in the padding; *plane (when given)
// receives the (image, channel) plane n*cin + ch it lies in.
VLV_HD int64_t im2col_at(const VlvCudaConv& c, const Tap& t, const Pixel& q, int64_t* plane = nullptr) {
  const int64_t iy = q.y + t.ky, ix = q.x + t.kx;
  if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) return -1;
  if (plane) *plane = q.n * c.cin + t.ch;
  return ((q.n * c.cin + t.ch) * c.h + iy) * c.w + ix;
}

// The x index that col element (row, column) reads, or -1 in the padding.
VLV_HD int64_t im2col_source_rc(const VlvCudaConv& c, int64_t row, int64_t col) {
  return im2col_at(c, tap_of(c, row), out_pixel(c, col));
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
  if (t < 0 || (stride > 1 && t % stride)) return false;
  *o = stride > 1 ? t / stride : t;
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

// The data gradient as a gather (groups == 1): gx[n][ci][iy][ix] = sum over the taps t =
// (co, ky, kx) (row (co*kh + ky)*kw + kx, decomposed by tap_of with ch = co) of
// w[co][ci][ky][kx] * gy at dgrad_at(t, in_pixel(col)) (-1: no tap), col = (n*h + iy)*w + ix.
VLV_HD Pixel in_pixel(const VlvCudaConv& c, int64_t col) {
  const int64_t HW = c.h * c.w, n = col / HW;
  return Pixel{n, col / c.w % c.h, col % c.w, n * c.cin * HW + col % HW};
}

VLV_HD int64_t dgrad_at(const VlvCudaConv& c, const Tap& t, const Pixel& q) {
  int64_t oy, ox;
  if (!tap_source(q.y, t.ky, c.ph, c.sh, c.ho, &oy) || !tap_source(q.x, t.kx, c.pw, c.sw, c.wo, &ox)) return -1;
  return ((q.n * c.cout + t.ch) * c.ho + oy) * c.wo + ox;
}

}  // namespace vlv::cuda::conv
