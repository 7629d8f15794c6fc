// conv: conv2d (NCHW, any kh x kw, stride and padding as int or [h,w], groups, optional bias)
// and upsample_nearest2x, f32; group_norm_conv2d as group_norm then conv2d (the reference of
// the fused CUDA kernel; the models keep the two ops on CPU). conv2d_backward is the fused
// backward kernel (ops.h) of conv2d's rule (ops/grad/conv.cc: the bias gradient is a sum,
// upsample's a reshape + sum).
//
// conv2d is one GEMM per (image, group) on the shared gemm_f32:
//   y_g[Cout/G, Ho*Wo] = w_g[Cout/G, Cin/G*kh*kw] @ col[Cin/G*kh*kw, Ho*Wo]
// Variants:
//   - 1x1, stride 1, no padding: the input planes ARE the col matrix (no im2col).
//   - depthwise (Cin/G == Cout/G == 1): a direct loop per plane, no GEMM.
//   - otherwise im2col, chunked over output rows so the col buffer stays bounded whatever
//     the image size (see kColTarget).
// Backward: dW_g = sum_n gy_g @ col^T (same chunking), dX = col2im(w_g^T @ gy_g).
// Parallelism depends only on the shape (never on the thread count), so results do too:
// groups > 1 split over (image, group) with serial GEMMs; groups == 1 run images in order
// and let the GEMM split its rows. Reductions over images run in a fixed order.
// Measured (2 cores, AVX-512, shared and noisy; with the packed gemm_f32): at 64x64, 3x3 64->64
// 7-8 ms (~40 GFLOP/s), 3x3 320->320 60-130 ms (57-124 GFLOP/s), 1x1 320->320 9-11 ms
// (~90 GFLOP/s); depthwise 3x3 256ch 96x96 3.7 ms (torch 1.13: 86 ms).
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "ops/check/conv.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/inputs.h"
#include "ops/kernel.h"

namespace vlv::cpu {
namespace {

// im2col chunks: about kColTarget floats (1 MiB, stays in L2 for the GEMM to pack from), but
// at least kMinCols output positions so the GEMM's packing of the weights is amortised, and
// never more than kColMax floats (16 MiB). Measured on 64x64 SD shapes (CPU time, noisy
// machine): 3x3 64ch 15 -> 7 ms against a fixed 16 MiB chunk, 320ch unchanged.
constexpr int64_t kColTarget = int64_t(1) << 18, kMinCols = 1024, kColMax = int64_t(4) << 20;

struct ConvGeom {
  int64_t N, Cin, H, W, Cout, kh, kw, sh, sw, ph, pw, G, Ho, Wo;
  int64_t cig() const { return Cin / G; }
  int64_t cog() const { return Cout / G; }
  int64_t K() const { return cig() * kh * kw; }  // the reduction length of one group's GEMM
  int64_t P() const { return Ho * Wo; }
  bool pointwise() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
  bool depthwise() const { return cig() == 1 && cog() == 1; }
  // Output rows per im2col chunk.
  int64_t chunk_rows() const {
    if (pointwise()) return Ho;
    const int64_t rows = std::max(kColTarget / (K() * Wo), (kMinCols + Wo - 1) / Wo);
    return std::clamp<int64_t>(std::min(rows, kColMax / (K() * Wo)), 1, Ho);
  }
};

ConvGeom conv_geom(const Tensor& x, const Tensor& w, const Tensor& b, const Attrs& attrs) {
  const ConvShape c = conv_shape(x, w, b, attrs);
  check_float(x, "conv2d", "x");
  check_float(w, "conv2d", "weight");
  if (b.defined()) check_float(b, "conv2d", "bias");
  return ConvGeom{c.n, c.cin, c.h, c.w, c.cout, c.kh, c.kw, c.sh, c.sw, c.ph, c.pw, c.groups, c.ho, c.wo};
}

// Output positions o in [lo, hi) whose input position o*stride - pad + k lies inside [0, in).
struct Span {
  int64_t lo, hi;
};
Span valid_span(int64_t k, int64_t stride, int64_t pad, int64_t in, int64_t out) {
  const int64_t lo = pad > k ? (pad - k + stride - 1) / stride : 0;
  const int64_t last = in - 1 + pad - k;
  const int64_t hi = last < 0 ? 0 : std::min(out, last / stride + 1);
  return {std::min(lo, out), std::max(hi, std::min(lo, out))};
}

// d[o*stride] += a * src[o] (scatter) and d[o] += a * src[o*stride] (gather) for o in the
// span; stride 1 gets its own loop so the compiler vectorises it.
inline void strided_axpy(float a, const float* src, float* d, int64_t stride, Span s) {
  if (stride == 1)
    for (int64_t o = s.lo; o < s.hi; ++o) d[o] += a * src[o];
  else
    for (int64_t o = s.lo; o < s.hi; ++o) d[o * stride] += a * src[o];
}
inline void gather_axpy(float a, const float* src, int64_t stride, float* d, Span s) {
  if (stride == 1)
    for (int64_t o = s.lo; o < s.hi; ++o) d[o] += a * src[o];
  else
    for (int64_t o = s.lo; o < s.hi; ++o) d[o] += a * src[o * stride];
}

// col[k][(oh-r0)*Wo + ow] = x[c][oh*sh-ph+i][ow*sw-pw+j] (0 in the padding), k = (c*kh + i)*kw + j,
// for output rows [r0, r1) of one group's input planes x[Cin/G, H, W].
void im2col(const ConvGeom& g, const float* x, int64_t r0, int64_t r1, float* col, bool parallel) {
  const int64_t pc = (r1 - r0) * g.Wo;
  auto rows = [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t c = k / (g.kh * g.kw), i = (k / g.kw) % g.kh, j = k % g.kw;
      const float* xp = x + c * g.H * g.W;
      const Span s = valid_span(j, g.sw, g.pw, g.W, g.Wo);
      for (int64_t oh = r0; oh < r1; ++oh) {
        float* d = col + k * pc + (oh - r0) * g.Wo;
        const int64_t ih = oh * g.sh - g.ph + i;
        if (ih < 0 || ih >= g.H) {
          std::fill(d, d + g.Wo, 0.f);
          continue;
        }
        const float* src = xp + ih * g.W - g.pw + j;
        std::fill(d, d + s.lo, 0.f);
        if (g.sw == 1) std::memcpy(d + s.lo, src + s.lo, sizeof(float) * (s.hi - s.lo));
        else
          for (int64_t ow = s.lo; ow < s.hi; ++ow) d[ow] = src[ow * g.sw];
        std::fill(d + s.hi, d + g.Wo, 0.f);
      }
    }
  };
  if (parallel) parallel_for(g.K(), 8, rows);
  else rows(0, g.K());
}

// The adjoint of im2col: dx[c] += the col entries that read it. One channel per task, so
// the accumulation order is fixed.
void col2im(const ConvGeom& g, const float* col, int64_t r0, int64_t r1, float* dx, bool parallel) {
  const int64_t pc = (r1 - r0) * g.Wo;
  auto chans = [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      float* dp = dx + c * g.H * g.W;
      for (int64_t i = 0; i < g.kh; ++i)
        for (int64_t j = 0; j < g.kw; ++j) {
          const int64_t k = (c * g.kh + i) * g.kw + j;
          const Span s = valid_span(j, g.sw, g.pw, g.W, g.Wo);
          for (int64_t oh = r0; oh < r1; ++oh) {
            const int64_t ih = oh * g.sh - g.ph + i;
            if (ih < 0 || ih >= g.H) continue;
            strided_axpy(1.f, col + k * pc + (oh - r0) * g.Wo, dp + ih * g.W - g.pw + j, g.sw, s);
          }
        }
    }
  };
  if (parallel) parallel_for(g.cig(), 1, chans);
  else chans(0, g.cig());
}

// Runs fn(n, group, parallel_inside) over every (image, group): split over the pool when
// there are several groups, else in order with the parallelism left to fn.
template <class Fn>
void for_each_image_group(const ConvGeom& g, Fn&& fn) {
  if (g.G > 1) {
    parallel_for(g.N * g.G, 1, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) fn(t / g.G, t % g.G, false);
    });
  } else {
    for (int64_t n = 0; n < g.N; ++n) fn(n, 0, true);
  }
}

// ---- depthwise: one plane per (image, channel), direct loops ----

void depthwise_forward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y) {
  parallel_for(g.N * g.Cin, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p % g.Cin;
      const float* xp = x + p * g.H * g.W;
      const float* wp = w + c * g.kh * g.kw;
      float* yp = y + p * g.P();
      std::fill(yp, yp + g.P(), b ? b[c] : 0.f);
      for (int64_t oh = 0; oh < g.Ho; ++oh)
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t ih = oh * g.sh - g.ph + i;
          if (ih < 0 || ih >= g.H) continue;
          for (int64_t j = 0; j < g.kw; ++j) {
            const Span s = valid_span(j, g.sw, g.pw, g.W, g.Wo);
            const float wv = wp[i * g.kw + j];
            gather_axpy(wv, xp + ih * g.W - g.pw + j, g.sw, yp + oh * g.Wo, s);
          }
        }
    }
  });
}

void depthwise_backward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* dx, float* dw) {
  if (dx)
    parallel_for(g.N * g.Cin, 1, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const float* wp = w + (p % g.Cin) * g.kh * g.kw;
        const float* gp = gy + p * g.P();
        float* dp = dx + p * g.H * g.W;
        std::fill(dp, dp + g.H * g.W, 0.f);
        for (int64_t oh = 0; oh < g.Ho; ++oh)
          for (int64_t i = 0; i < g.kh; ++i) {
            const int64_t ih = oh * g.sh - g.ph + i;
            if (ih < 0 || ih >= g.H) continue;
            for (int64_t j = 0; j < g.kw; ++j) {
              const Span s = valid_span(j, g.sw, g.pw, g.W, g.Wo);
              const float wv = wp[i * g.kw + j];
              strided_axpy(wv, gp + oh * g.Wo, dp + ih * g.W - g.pw + j, g.sw, s);
            }
          }
      }
    });
  if (dw)
    parallel_for(g.Cin, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t i = 0; i < g.kh; ++i)
          for (int64_t j = 0; j < g.kw; ++j) {
            const Span s = valid_span(j, g.sw, g.pw, g.W, g.Wo);
            double acc = 0;
            for (int64_t n = 0; n < g.N; ++n) {
              const float* xp = x + (n * g.Cin + c) * g.H * g.W;
              const float* gp = gy + (n * g.Cin + c) * g.P();
              for (int64_t oh = 0; oh < g.Ho; ++oh) {
                const int64_t ih = oh * g.sh - g.ph + i;
                if (ih < 0 || ih >= g.H) continue;
                const float* src = xp + ih * g.W - g.pw + j;
                const float* gr = gp + oh * g.Wo;
                float row = 0.f;
                for (int64_t ow = s.lo; ow < s.hi; ++ow) row += gr[ow] * src[ow * g.sw];
                acc += row;
              }
            }
            dw[(c * g.kh + i) * g.kw + j] = float(acc);
          }
    });
}

// ---- GEMM paths ----

void gemm_forward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y) {
  const int64_t K = g.K(), P = g.P(), cog = g.cog(), rows = g.chunk_rows();
  for_each_image_group(g, [&](int64_t n, int64_t grp, bool par) {
    const float* xg = x + (n * g.Cin + grp * g.cig()) * g.H * g.W;
    const float* wg = w + grp * cog * K;
    float* yg = y + (n * g.Cout + grp * cog) * P;
    if (g.pointwise()) {
      gemm_f32(false, false, cog, P, K, 1.f, wg, K, xg, P, 0.f, yg, P, par);
    } else {
      std::vector<float> col(size_t(K * rows * g.Wo));
      for (int64_t r0 = 0; r0 < g.Ho; r0 += rows) {
        const int64_t r1 = std::min(g.Ho, r0 + rows), pc = (r1 - r0) * g.Wo;
        im2col(g, xg, r0, r1, col.data(), par);
        gemm_f32(false, false, cog, pc, K, 1.f, wg, K, col.data(), pc, 0.f, yg + r0 * g.Wo, P, par);
      }
    }
    if (b)
      for (int64_t co = 0; co < cog; ++co) {
        const float bv = b[grp * cog + co];
        for (float *p = yg + co * P, *e = p + P; p < e; ++p) *p += bv;
      }
  });
}

void gemm_backward_input(const ConvGeom& g, const float* w, const float* gy, float* dx) {
  const int64_t K = g.K(), P = g.P(), cog = g.cog(), rows = g.chunk_rows();
  for_each_image_group(g, [&](int64_t n, int64_t grp, bool par) {
    const float* wg = w + grp * cog * K;
    const float* gg = gy + (n * g.Cout + grp * cog) * P;
    float* dg = dx + (n * g.Cin + grp * g.cig()) * g.H * g.W;
    if (g.pointwise()) {
      gemm_f32(true, false, K, P, cog, 1.f, wg, K, gg, P, 0.f, dg, P, par);
      return;
    }
    std::fill(dg, dg + g.cig() * g.H * g.W, 0.f);
    std::vector<float> col(size_t(K * rows * g.Wo));
    for (int64_t r0 = 0; r0 < g.Ho; r0 += rows) {
      const int64_t r1 = std::min(g.Ho, r0 + rows), pc = (r1 - r0) * g.Wo;
      gemm_f32(true, false, K, pc, cog, 1.f, wg, K, gg + r0 * g.Wo, P, 0.f, col.data(), pc, par);
      col2im(g, col.data(), r0, r1, dg, par);
    }
  });
}

// dW_g accumulates over images in order (beta = 1 after the first product), so each group's
// weight gradient is written by one task only.
void gemm_backward_weight(const ConvGeom& g, const float* x, const float* gy, float* dw) {
  const int64_t K = g.K(), P = g.P(), cog = g.cog(), rows = g.chunk_rows();
  auto group = [&](int64_t grp, bool par) {
    float* dwg = dw + grp * cog * K;
    std::vector<float> col(g.pointwise() ? 0 : size_t(K * rows * g.Wo));
    float beta = 0.f;
    for (int64_t n = 0; n < g.N; ++n) {
      const float* xg = x + (n * g.Cin + grp * g.cig()) * g.H * g.W;
      const float* gg = gy + (n * g.Cout + grp * cog) * P;
      if (g.pointwise()) {
        gemm_f32(false, true, cog, K, P, 1.f, gg, P, xg, P, beta, dwg, K, par);
        beta = 1.f;
        continue;
      }
      for (int64_t r0 = 0; r0 < g.Ho; r0 += rows) {
        const int64_t r1 = std::min(g.Ho, r0 + rows), pc = (r1 - r0) * g.Wo;
        im2col(g, xg, r0, r1, col.data(), par);
        gemm_f32(false, true, cog, K, pc, 1.f, gg + r0 * g.Wo, P, col.data(), pc, beta, dwg, K, par);
        beta = 1.f;
      }
    }
  };
  if (g.G > 1)
    parallel_for(g.G, 1, [&](int64_t b, int64_t e) {
      for (int64_t grp = b; grp < e; ++grp) group(grp, false);
    });
  else group(0, true);
}

}  // namespace

Tensors conv2d(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor x = input(in, 0), w = input(in, 1), b = input(in, 2);
  const ConvGeom g = conv_geom(x, w, b, attrs);
  Tensor y = Tensor::empty({g.N, g.Cout, g.Ho, g.Wo}, DType::F32);
  if (y.numel() == 0) return {y};
  const float* bp = b.defined() ? b.data<float>() : nullptr;
  if (g.depthwise()) depthwise_forward(g, x.data<float>(), w.data<float>(), bp, y.data<float>());
  else gemm_forward(g, x.data<float>(), w.data<float>(), bp, y.data<float>());
  return {y};
}

// x, w, gy -> (dx, dw) as attrs needs asks.
Tensors conv2d_backward(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor x = input(in, 0), w = input(in, 1), gyt = input(in, 2);
  const ConvGeom g = conv_geom(x, w, Tensor(), attrs);
  const bool need_x = wants_grad(attrs, 0), need_w = wants_grad(attrs, 1);
  Tensors grads(2);
  if (gyt.numel() == 0) {
    if (need_x) grads[0] = Tensor::zeros(x.shape(), DType::F32);
    if (need_w) grads[1] = Tensor::zeros(w.shape(), DType::F32);
    return grads;
  }
  const Tensor gyc = gyt.contiguous_f32();
  const float* gy = gyc.data<float>();
  if (need_x) grads[0] = Tensor::empty(x.shape(), DType::F32);
  if (need_w) grads[1] = Tensor::empty(w.shape(), DType::F32);
  float* dx = need_x ? grads[0].data<float>() : nullptr;
  float* dw = need_w ? grads[1].data<float>() : nullptr;
  if (g.depthwise()) {
    depthwise_backward(g, x.data<float>(), w.data<float>(), gy, dx, dw);
  } else {
    if (dx) gemm_backward_input(g, w.data<float>(), gy, dx);
    if (dw) gemm_backward_weight(g, x.data<float>(), gy, dw);
  }
  return grads;
}

// ---- upsample_nearest2x ----

namespace {
void check_upsample_input(const Tensor& x) {
  check_float(x, "upsample_nearest2x", "x");
  check_dim(x, 4, "upsample_nearest2x", "x");
}
}  // namespace

// The reference of the fused op: group_norm, then conv2d on its output.
Tensors group_norm_conv2d(const Tensors& in, const Attrs& attrs, Saved*) {
  const GroupNormConv p = group_norm_conv_parts(in, attrs);
  return conv2d({group_norm(p.norm_in, p.norm, nullptr)[0], p.weight, p.bias}, p.conv, nullptr);
}

Tensors upsample_nearest2x(const Tensors& in, const Attrs&, Saved*) {
  const Tensor x = input(in, 0);
  check_upsample_input(x);
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  Tensor y = Tensor::empty({N, C, 2 * H, 2 * W}, DType::F32);
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  parallel_for(N * C * H, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* s = xp + r * W;
      float* d = yp + r * 4 * W;  // output rows 2r and 2r+1 of the same plane
      for (int64_t w = 0; w < W; ++w) d[2 * w] = d[2 * w + 1] = s[w];
      std::memcpy(d + 2 * W, d, sizeof(float) * 2 * W);
    }
  });
  return {y};
}

}  // namespace vlv::cpu
