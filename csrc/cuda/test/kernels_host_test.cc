// Host test of the CUDA kernels' shared loops and index maps, on a machine without a GPU:
// the attention row loops of attention_rows.h (forward with online softmax, the dQ and dK/dV
// recomputation) run with a plain-array row type against a naive float64 softmax attention
// (GQA, causal bottom-right with lq < lk and lq > lk, bool and additive masks with broadcast
// strides, rows that see no key), and conv_index.h's im2col / col2im maps against a direct
// convolution and its adjoint (stride, padding, groups, depthwise). Built as
// vlv_cuda_kernel_tests; prints "N checks passed", exits 1 on the first failure.
#include <cmath>
#include <cstdio>
#include <vector>

#include "cuda/attention_rows.h"
#include "cuda/conv_index.h"
#include "cuda/test/host_check.h"

namespace {
using namespace vlv::cuda::hosttest;

// The host row type of attention_rows.h.
struct HostVec {
  float r[256];
  void load(const float* p, int64_t n) { for (int64_t d = 0; d < 256; ++d) r[d] = d < n ? p[d] : 0.f; }
  void zero() { for (float& x : r) x = 0.f; }
  void scale(float s) { for (float& x : r) x *= s; }
  float dot(const float* p, int64_t n) const {
    float s = 0.f;
    for (int64_t d = 0; d < n; ++d) s = std::fma(r[d], p[d], s);
    return s;
  }
  void axpy(float a, const float* p, int64_t n) { for (int64_t d = 0; d < n; ++d) r[d] = std::fma(a, p[d], r[d]); }
  void store(float* p, int64_t n, float s) const { for (int64_t d = 0; d < n; ++d) p[d] = r[d] * s; }
  bool leader() const { return true; }
};

void attention_case(const AttnCase& c) {
  AttnData data(c, [](float x) { return x; });
  const VlvCudaAttention& a = data.a;
  const std::vector<float>& go = data.go;
  const int64_t rows = c.b * c.hq * c.lq, keys = c.b * c.hkv * c.lk;
  std::vector<float> out(size_t(rows * c.dv)), lse(static_cast<size_t>(rows)), di(static_cast<size_t>(rows)), gq(data.q.size()),
      gk(data.k.size()), gv(data.v.size());
  HostVec x1, x2, x3, x4;
  for (int64_t r = 0; r < rows; ++r) vlv::cuda::attn::forward_row(a, r, x1, x2, out.data(), lse.data());
  for (int64_t r = 0; r < rows; ++r) vlv::cuda::attn::rowdot_row(r, c.dv, out.data(), go.data(), x1, di.data());
  for (int64_t r = 0; r < rows; ++r)
    vlv::cuda::attn::dq_row(a, r, lse.data(), di.data(), go.data(), x1, x2, x3, gq.data());
  for (int64_t kk = 0; kk < keys; ++kk)
    vlv::cuda::attn::dkv_row(a, kk, lse.data(), di.data(), go.data(), x1, x2, x3, x4, gk.data(), gv.data());

  const double tol = 2e-6;
  CHECK(rel(out, data.out) < tol, "%s: out rel %g", c.name, rel(out, data.out));
  CHECK(rel(lse, data.lse) < tol, "%s: lse rel %g", c.name, rel(lse, data.lse));
  CHECK(rel(gq, data.gq) < 1e-5, "%s: dq rel %g", c.name, rel(gq, data.gq));
  CHECK(rel(gk, data.gk) < 1e-5, "%s: dk rel %g", c.name, rel(gk, data.gk));
  CHECK(rel(gv, data.gv) < 1e-5, "%s: dv rel %g", c.name, rel(gv, data.gv));
  if (c.dead_row) {
    CHECK(lse[0] == -INFINITY, "%s: lse of a dead row is %g", c.name, double(lse[0]));
    for (int64_t d = 0; d < c.dv; ++d) CHECK(out[size_t(d)] == 0.f, "%s: out of a dead row", c.name);
  }
}

struct ConvCase {
  const char* name;
  int64_t n, cin, h, w, cout, kh, kw, sh, sw, ph, pw, groups;
};

void conv_case(const ConvCase& cc) {
  VlvCudaConv c{};
  c.dtype = VLV_CUDA_F32;
  c.n = cc.n, c.cin = cc.cin, c.h = cc.h, c.w = cc.w, c.cout = cc.cout, c.kh = cc.kh, c.kw = cc.kw;
  c.sh = cc.sh, c.sw = cc.sw, c.ph = cc.ph, c.pw = cc.pw, c.groups = cc.groups;
  c.ho = (c.h + 2 * c.ph - c.kh) / c.sh + 1;
  c.wo = (c.w + 2 * c.pw - c.kw) / c.sw + 1;
  const int64_t cig = c.cin / c.groups, cog = c.cout / c.groups, K = cig * c.kh * c.kw, P = c.ho * c.wo, NP = c.n * P;
  std::vector<float> x = rnd_vec(size_t(c.n * c.cin * c.h * c.w)), w = rnd_vec(size_t(c.cout * K)),
                     gy = rnd_vec(size_t(c.n * c.cout * P));
  // im2col, then y[n][o][p] = sum_k w[o][k] col[g][k][n*P+p] (the GEMM of the addon).
  std::vector<float> col(size_t(vlv::cuda::conv::col_size(c)));
  for (int64_t e = 0; e < int64_t(col.size()); ++e) {
    const int64_t src = vlv::cuda::conv::im2col_source(c, e);
    col[size_t(e)] = src < 0 ? 0.f : x[size_t(src)];
  }
  std::vector<float> y(gy.size());
  std::vector<float> dcol(col.size(), 0.f);
  for (int64_t g = 0; g < c.groups; ++g)
    for (int64_t o = 0; o < cog; ++o)
      for (int64_t q = 0; q < NP; ++q) {
        double acc = 0;
        for (int64_t kk = 0; kk < K; ++kk) acc += double(w[size_t((g * cog + o) * K + kk)]) * col[size_t((g * K + kk) * NP + q)];
        y[size_t(((q / P) * c.cout + g * cog + o) * P + q % P)] = float(acc);
      }
  // dcol[g][k][q] = sum_o w[o][k] gy[n][o][p]; dx = col2im(dcol).
  for (int64_t g = 0; g < c.groups; ++g)
    for (int64_t kk = 0; kk < K; ++kk)
      for (int64_t q = 0; q < NP; ++q) {
        double acc = 0;
        for (int64_t o = 0; o < cog; ++o)
          acc += double(w[size_t((g * cog + o) * K + kk)]) * gy[size_t(((q / P) * c.cout + g * cog + o) * P + q % P)];
        dcol[size_t((g * K + kk) * NP + q)] = float(acc);
      }
  std::vector<float> gx(x.size());
  for (int64_t e = 0; e < int64_t(x.size()); ++e) {
    float s = 0.f;
    vlv::cuda::conv::col2im_sources(c, e, [&](int64_t kk) { s += dcol[size_t(kk)]; });
    gx[size_t(e)] = s;
  }
  // Direct convolution and its adjoint in float64.
  std::vector<double> ry(y.size(), 0), rgx(x.size(), 0);
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t o = 0; o < c.cout; ++o) {
      const int64_t g = o / cog;
      for (int64_t oy = 0; oy < c.ho; ++oy)
        for (int64_t ox = 0; ox < c.wo; ++ox) {
          const size_t yi = size_t(((n * c.cout + o) * c.ho + oy) * c.wo + ox);
          for (int64_t ci = 0; ci < cig; ++ci)
            for (int64_t ky = 0; ky < c.kh; ++ky)
              for (int64_t kx = 0; kx < c.kw; ++kx) {
                const int64_t iy = oy * c.sh - c.ph + ky, ix = ox * c.sw - c.pw + kx;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                const size_t xi = size_t(((n * c.cin + g * cig + ci) * c.h + iy) * c.w + ix);
                const double wv = w[size_t(((o * cig + ci) * c.kh + ky) * c.kw + kx)];
                ry[yi] += wv * x[xi];
                rgx[xi] += wv * gy[yi];
              }
        }
    }
  CHECK(rel(y, ry) < 1e-6, "%s: y rel %g", cc.name, rel(y, ry));
  CHECK(rel(gx, rgx) < 1e-6, "%s: dx rel %g", cc.name, rel(gx, rgx));
}
}  // namespace

int main() {
  const AttnCase attn[] = {
      {"self", 2, 2, 2, 13, 13, 16, 16, false, 0, false},
      {"gqa cross odd dims", 2, 4, 2, 7, 19, 33, 21, false, 0, false},
      {"causal lq < lk", 1, 3, 1, 5, 11, 8, 12, true, 0, false},
      {"causal lq > lk (rows with no key)", 1, 2, 2, 9, 4, 8, 8, true, 0, false},
      {"bool mask, a dead row", 2, 2, 1, 6, 10, 12, 7, false, 1, true},
      {"f32 mask with -inf, causal", 1, 2, 1, 8, 8, 40, 40, true, 2, false},
      {"head dim 256", 1, 1, 1, 5, 6, 256, 256, false, 0, false},
  };
  for (const AttnCase& c : attn) attention_case(c);
  const ConvCase convs[] = {
      {"3x3 pad 1", 2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1},
      {"3x3 stride 2, pad [1, 0]", 1, 4, 9, 8, 5, 3, 3, 2, 2, 1, 0, 1},
      {"1x1", 2, 5, 4, 3, 3, 1, 1, 1, 1, 0, 0, 1},
      {"groups 2, 3x2 kernel", 2, 6, 6, 7, 4, 3, 2, 1, 1, 1, 1, 2},
      {"depthwise, stride [2, 1]", 2, 4, 7, 5, 4, 3, 3, 2, 1, 1, 1, 4},
  };
  for (const ConvCase& c : convs) conv_case(c);
  std::printf("%d checks passed\n", g_checks);
  return 0;
}
