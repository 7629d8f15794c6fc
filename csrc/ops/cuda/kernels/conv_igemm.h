// The implicit-GEMM convolution's tile loop pieces, shared by the CUDA kernel
// (conv_igemm.cu) and the host test (csrc/cuda/test/kernels_host_test.cc, which runs the
// same staging, loaders and epilogue over plain float arrays and emulates mma.sync through
// mma_frag.h's fragment maps).
//
// A problem is a Map: the GEMM C[M, N] = A[M, K] @ B[K, N] where A and B are read through
// index maps (conv_index.h's, shared with im2col / col2im) and C is scattered into NCHW:
//   Fwd    y = conv2d(pro(x)):  M = Cout, N = n*Ho*Wo, K = Cin*kh*kw; A = the weight as
//          [Cout, K]; B = im2col(x) gathered on the fly (conv_index.h), each element passed
//          through the prologue pro(v) = silu?(v*scale[n,c] + shift[n,c]) (the fused group
//          norm; padding stays 0, as the reference pads the normalised activation).
//   Dgrad  gx = conv2d's data gradient: M = Cin, N = n*H*W, K = Cout*kh*kw; A[ci][(co,ky,kx)]
//          = w[co][ci][ky][kx]; B = gy gathered through the transposed taps (dgrad_source_rc).
// groups == 1 only (the addon keeps im2col for the others). Checked on the host only; the
// kernel around it has not run on a GPU.
#pragma once
#include <cmath>
#include <cstdint>

#include "ops/cuda/kernels/conv_index.h"
#include "ops/cuda/kernels/mma_frag.h"

namespace vlv::cuda::igemm {

// A 128x128x32 block tile, 8 warps (2 x 4) of 64x32 each, padded shared rows (40 halves:
// the 32-bit fragment loads hit 32 distinct banks), as the part-1 GEMM.
constexpr int kThreads = 256, BM = 128, BN = 128, BK = 32, LDS = BK + 8, WM = 64, WN = 32;

VLV_HD float silu(float v) { return v / (1.f + expf(-v)); }

// Rows of B are taps (conv::Tap), columns pixels (conv::Pixel): decomposed once per block
// (pixels) or k tile (taps) and staged in shared memory, so the gathers do no division.
struct Fwd {
  VlvCudaConv c;
  const float* scale;  // [n, cin] f32, with shift; null: no affine prologue
  const float* shift;
  int silu;
  VLV_HD int64_t m() const { return c.cout; }
  VLV_HD int64_t n() const { return c.n * c.ho * c.wo; }
  VLV_HD int64_t k() const { return c.cin * c.kh * c.kw; }
  VLV_HD conv::Tap tap(int64_t k) const { return conv::tap_of(c, k); }
  VLV_HD conv::Pixel pixel(int64_t col) const { return conv::out_pixel(c, col); }
  VLV_HD int64_t a_index(int64_t r, const conv::Tap& t) const { return r * k() + t.k; }
  template <class T>
  VLV_HD float b_value(const T* x, const conv::Tap& t, const conv::Pixel& q) const {
    int64_t plane = 0;
    const int64_t i = conv::im2col_at(c, t, q, &plane);
    if (i < 0) return 0.f;
    float v = float(x[i]);
    if (scale) v = v * scale[plane] + shift[plane];
    return silu ? igemm::silu(v) : v;
  }
  VLV_HD int64_t out_index(int64_t r, const conv::Pixel& q) const { return q.out + r * c.ho * c.wo; }
};

struct Dgrad {
  VlvCudaConv c;
  VLV_HD int64_t m() const { return c.cin; }
  VLV_HD int64_t n() const { return c.n * c.h * c.w; }
  VLV_HD int64_t k() const { return c.cout * c.kh * c.kw; }
  VLV_HD conv::Tap tap(int64_t k) const { return conv::tap_of(c, k); }  // ch: the output channel
  VLV_HD conv::Pixel pixel(int64_t col) const { return conv::in_pixel(c, col); }
  VLV_HD int64_t a_index(int64_t r, const conv::Tap& t) const {
    return ((t.ch * c.cin + r) * c.kh + t.ky) * c.kw + t.kx;
  }
  template <class T>
  VLV_HD float b_value(const T* gy, const conv::Tap& t, const conv::Pixel& q) const {
    const int64_t i = conv::dgrad_at(c, t, q);
    return i < 0 ? 0.f : float(gy[i]);
  }
  VLV_HD int64_t out_index(int64_t r, const conv::Pixel& q) const { return q.out + r * c.h * c.w; }
};

// Thread tid's share of decomposing the block's columns (once per block) and the taps of
// the k0 slice (per k tile); entries past the problem are left alone (never read).
template <class Map>
VLV_HD void stage_pixels(const Map& mp, int64_t n0, int tid, conv::Pixel* px) {
  for (int j = tid; j < BN; j += kThreads)
    if (n0 + j < mp.n()) px[j] = mp.pixel(n0 + j);
}
template <class Map>
VLV_HD void stage_taps(const Map& mp, int64_t k0, int tid, conv::Tap* taps) {
  for (int i = tid; i < BK; i += kThreads)
    if (k0 + i < mp.k()) taps[i] = mp.tap(k0 + i);
}

// Thread tid's share of staging the k0 slice of the block's tiles (after the stages above):
// As[m][k] from A, Bs[n][k] from B (k contiguous, as the col-major B fragment wants); 0
// outside. B elements go to threads column-first so neighbouring threads read neighbouring
// pixels.
template <class Map, class T>
VLV_HD void load_tiles(const Map& mp, const T* a, const T* b, int64_t m0, int64_t n0, int64_t k0, int tid,
                       const conv::Tap* taps, const conv::Pixel* px, T (*As)[LDS], T (*Bs)[LDS]) {
  const int64_t M = mp.m(), N = mp.n(), K = mp.k();
  for (int e = tid; e < BM * BK; e += kThreads) {
    const int mi = e / BK, ki = e % BK;
    const int64_t r = m0 + mi;
    As[mi][ki] = T(r < M && k0 + ki < K ? float(a[mp.a_index(r, taps[ki])]) : 0.f);
  }
  for (int e = tid; e < BN * BK; e += kThreads) {
    const int ni = e % BN, ki = e / BN;
    Bs[ni][ki] = T(n0 + ni < N && k0 + ki < K ? mp.b_value(b, taps[ki], px[ni]) : 0.f);
  }
}

// The block tile origin of warp w.
VLV_HD int warp_m(int w) { return w / 4 * WM; }
VLV_HD int warp_n(int w) { return w % 4 * WN; }

// Writes one accumulator: C[row, n0 + j] + bias[row] into its NCHW place (nothing outside;
// px: the block's staged columns).
template <class Map, class T>
VLV_HD void store_out(const Map& mp, T* y, const T* bias, int64_t row, int64_t n0, int j, const conv::Pixel* px,
                      float acc) {
  if (row >= mp.m() || n0 + j >= mp.n()) return;
  y[mp.out_index(row, px[j])] = T(acc + (bias ? float(bias[row]) : 0.f));
}

// The fused group norm's per-(image, channel) affine from its statistics: scale =
// rstd*gamma, shift = beta - mean*rstd*gamma (gamma = 1, beta = 0 when absent), i = n*C + ch.
template <class T>
VLV_HD void gn_scale_shift(int64_t i, int64_t C, int64_t groups, const float* mean, const float* rstd, const T* gamma,
                           const T* beta, float* scale, float* shift) {
  const int64_t n = i / C, ch = i % C, g = n * groups + ch / (C / groups);
  const float s = rstd[g] * (gamma ? float(gamma[ch]) : 1.f);
  scale[i] = s;
  shift[i] = (beta ? float(beta[ch]) : 0.f) - mean[g] * s;
}

}  // namespace vlv::cuda::igemm
