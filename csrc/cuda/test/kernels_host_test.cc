// Host test of the CUDA kernels' shared loops and index maps, on a machine without a GPU:
// the attention row loops of attention_rows.h (forward with online softmax, the dQ and dK/dV
// recomputation) run with a plain-array row type against a naive float64 softmax attention
// (GQA, causal bottom-right with lq < lk and lq > lk, bool and additive masks with broadcast
// strides, rows that see no key), and conv_index.h's im2col / col2im maps against a direct
// convolution and its adjoint (stride, padding, groups, depthwise), and the implicit-GEMM
// conv of conv_igemm.h (forward with and without the fused group-norm + SiLU prologue, and
// the data gradient): its block / warp / mma-fragment loop emulated on the host (every block,
// the 256 threads' tile staging, mma.sync on tiles rebuilt from the lanes' registers, the
// epilogue) for odd shapes against a float64 convolution; prints the errors. Built as
// vlv_cuda_kernel_tests; prints "N checks passed", exits 1 on the first failure.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "cuda/test/host_check.h"
#include "ops/cuda/kernels/attention_rows.h"
#include "ops/cuda/kernels/conv_igemm.h"
#include "ops/cuda/kernels/conv_index.h"

namespace {
using namespace vlv::cuda::hosttest;

// The host row type of attention_rows.h.
struct HostVec {
  float r[256];
  void load(const float* p, int64_t n) {
    for (int64_t d = 0; d < 256; ++d) r[d] = d < n ? p[d] : 0.f;
  }
  void zero() {
    for (float& x : r) x = 0.f;
  }
  void scale(float s) {
    for (float& x : r) x *= s;
  }
  float dot(const float* p, int64_t n) const {
    float s = 0.f;
    for (int64_t d = 0; d < n; ++d) s = std::fma(r[d], p[d], s);
    return s;
  }
  void axpy(float a, const float* p, int64_t n) {
    for (int64_t d = 0; d < n; ++d) r[d] = std::fma(a, p[d], r[d]);
  }
  void store(float* p, int64_t n, float s) const {
    for (int64_t d = 0; d < n; ++d) p[d] = r[d] * s;
  }
  bool leader() const { return true; }
};

void attention_case(const AttnCase& c) {
  AttnData data(c, [](float x) { return x; });
  const VlvCudaAttention& a = data.a;
  const std::vector<float>& go = data.go;
  const int64_t rows = c.b * c.hq * c.lq, keys = c.b * c.hkv * c.lk;
  std::vector<float> out(size_t(rows * c.dv)), lse(static_cast<size_t>(rows)), di(static_cast<size_t>(rows)),
      gq(data.q.size()), gk(data.k.size()), gv(data.v.size());
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

// Direct convolution (ry = conv(x, w)) and its adjoint (rgx = conv^T(gy, w)) in float64.
void direct_conv(const VlvCudaConv& c, const std::vector<float>& x, const std::vector<float>& w,
                 const std::vector<float>& gy, std::vector<double>& ry, std::vector<double>& rgx) {
  const int64_t cig = c.cin / c.groups, cog = c.cout / c.groups;
  ry.assign(gy.size(), 0);
  rgx.assign(x.size(), 0);
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
}

VlvCudaConv geometry(const ConvCase& cc) {
  VlvCudaConv c{};
  c.dtype = VLV_CUDA_F32;
  c.n = cc.n, c.cin = cc.cin, c.h = cc.h, c.w = cc.w, c.cout = cc.cout, c.kh = cc.kh, c.kw = cc.kw;
  c.sh = cc.sh, c.sw = cc.sw, c.ph = cc.ph, c.pw = cc.pw, c.groups = cc.groups;
  c.ho = (c.h + 2 * c.ph - c.kh) / c.sh + 1;
  c.wo = (c.w + 2 * c.pw - c.kw) / c.sw + 1;
  return c;
}

void conv_case(const ConvCase& cc) {
  const VlvCudaConv c = geometry(cc);
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
        for (int64_t kk = 0; kk < K; ++kk)
          acc += double(w[size_t((g * cog + o) * K + kk)]) * col[size_t((g * K + kk) * NP + q)];
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
  std::vector<double> ry, rgx;
  direct_conv(c, x, w, gy, ry, rgx);
  CHECK(rel(y, ry) < 1e-6, "%s: y rel %g", cc.name, rel(y, ry));
  CHECK(rel(gx, rgx) < 1e-6, "%s: dx rel %g", cc.name, rel(gx, rgx));
}

// ---- The implicit-GEMM conv (conv_igemm.h), its block / warp / fragment loop emulated ----
namespace ig = vlv::cuda::igemm;

double max_abs(const std::vector<float>& got, const std::vector<double>& want) {
  double m = 0;
  for (size_t i = 0; i < got.size(); ++i) m = std::fmax(m, std::fabs(got[i] - want[i]));
  return m;
}

// Runs conv_igemm.cu's kernel body for every block on plain floats: the 256 "threads" stage
// the pixels, taps and tiles through ig::stage_* / ig::load_tiles into shared-memory images, each warp's fragments are
// read through the fragment maps, mma.sync is emulated on the 16x16 / 16x8 tiles rebuilt from the 32 lanes' registers
// (every fragment element written exactly once: checked), and the accumulators leave through ig::store_out. Every y
// element is written exactly once.
template <class Map>
void igemm_emulate(const Map& mp, const float* a, const float* b, const float* bias, std::vector<float>& y) {
  static float As[ig::BM][ig::LDS], Bs[ig::BN][ig::LDS];
  static vlv::cuda::conv::Pixel px[ig::BN];
  static vlv::cuda::conv::Tap taps[ig::BK];
  static float acc[8][4][4][32][4];
  std::vector<int> writes(y.size(), 0);
  std::vector<float> out(y.size(), NAN);
  for (int64_t m0 = 0; m0 < mp.m(); m0 += ig::BM)
    for (int64_t n0 = 0; n0 < mp.n(); n0 += ig::BN) {
      std::fill(&acc[0][0][0][0][0], &acc[0][0][0][0][0] + sizeof(acc) / sizeof(float), 0.f);
      // Poisoned staging: an unstaged pixel / tap read, or a tile element left unwritten, shows.
      std::fill(px, px + ig::BN,
                vlv::cuda::conv::Pixel{int64_t(1) << 40, int64_t(1) << 40, int64_t(1) << 40, int64_t(1) << 40});
      for (int tid = 0; tid < ig::kThreads; ++tid) ig::stage_pixels(mp, n0, tid, px);
      for (int64_t k0 = 0; k0 < mp.k(); k0 += ig::BK) {
        std::fill(taps, taps + ig::BK, vlv::cuda::conv::Tap{int64_t(1) << 40, int64_t(1) << 40, 0, 0});
        std::fill(&As[0][0], &As[0][0] + ig::BM * ig::LDS, NAN);
        std::fill(&Bs[0][0], &Bs[0][0] + ig::BN * ig::LDS, NAN);
        for (int tid = 0; tid < ig::kThreads; ++tid) ig::stage_taps(mp, k0, tid, taps);
        for (int tid = 0; tid < ig::kThreads; ++tid) ig::load_tiles(mp, a, b, m0, n0, k0, tid, taps, px, As, Bs);
        for (int kk = 0; kk < ig::BK; kk += 16)
          for (int warp = 0; warp < 8; ++warp)
            for (int i = 0; i < 4; ++i)
              for (int j = 0; j < 4; ++j) {
                float A[16][16], B[16][8];
                int seen_a[16][16] = {}, seen_b[16][8] = {};
                const int wm = ig::warp_m(warp) + i * 16, wn = ig::warp_n(warp) + j * 8;
                for (int lane = 0; lane < 32; ++lane) {
                  for (int r = 0; r < 4; ++r)
                    for (int h = 0; h < 2; ++h) {
                      const int row = vlv::cuda::frag_a_row(lane, r), col = vlv::cuda::frag_a_col(lane, r) + h;
                      A[row][col] = As[wm + row][kk + col];
                      ++seen_a[row][col];
                    }
                  for (int r = 0; r < 2; ++r)
                    for (int h = 0; h < 2; ++h) {
                      const int k = vlv::cuda::frag_b_k(lane, r) + h, n = vlv::cuda::frag_b_n(lane);
                      B[k][n] = Bs[wn + n][kk + k];
                      ++seen_b[k][n];
                    }
                }
                for (int r = 0; r < 16; ++r)
                  for (int q = 0; q < 16; ++q)
                    CHECK(seen_a[r][q] == 1, "A fragment (%d,%d) held %d times", r, q, seen_a[r][q]);
                for (int r = 0; r < 16; ++r)
                  for (int q = 0; q < 8; ++q)
                    CHECK(seen_b[r][q] == 1, "B fragment (%d,%d) held %d times", r, q, seen_b[r][q]);
                for (int lane = 0; lane < 32; ++lane)
                  for (int r = 0; r < 4; ++r) {
                    const int row = vlv::cuda::frag_c_row(lane, r), col = vlv::cuda::frag_c_col(lane, r);
                    float d = acc[warp][i][j][lane][r];
                    for (int k = 0; k < 16; ++k) d = std::fma(A[row][k], B[k][col], d);
                    acc[warp][i][j][lane][r] = d;
                  }
              }
      }
      for (int warp = 0; warp < 8; ++warp)
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j)
            for (int lane = 0; lane < 32; ++lane)
              for (int r = 0; r < 4; ++r) {
                const int64_t row = m0 + ig::warp_m(warp) + i * 16 + vlv::cuda::frag_c_row(lane, r);
                const int jj = ig::warp_n(warp) + j * 8 + vlv::cuda::frag_c_col(lane, r);
                ig::store_out(mp, out.data(), bias, row, n0, jj, px, acc[warp][i][j][lane][r]);
                if (row < mp.m() && n0 + jj < mp.n()) ++writes[size_t(mp.out_index(row, px[jj]))];
              }
    }
  for (size_t e = 0; e < writes.size(); ++e) CHECK(writes[e] == 1, "output %zu written %d times", e, writes[e]);
  y = out;
}

// y = conv(silu(group_norm(x)), w) + bias (gn_groups > 0: the fused prologue, its scale and
// shift from float64 statistics through ig::gn_scale_shift) and the data gradient, both
// emulated, against float64 (the prologue applied in float64 from the group norm's definition).
void igemm_case(const ConvCase& cc, int64_t gn_groups) {
  const VlvCudaConv c = geometry(cc);
  const int64_t P = c.ho * c.wo, HW = c.h * c.w;
  std::vector<float> x = rnd_vec(size_t(c.n * c.cin * HW), 2.f), w = rnd_vec(size_t(c.cout * c.cin * c.kh * c.kw)),
                     gy = rnd_vec(size_t(c.n * c.cout * P)), bias = rnd_vec(size_t(c.cout));
  std::vector<float> scale, shift, xin = x;  // xin: the conv's input in float64 terms, rounded for direct_conv
  std::vector<double> xpro(x.begin(), x.end());
  if (gn_groups > 0) {
    std::vector<float> gamma = rnd_vec(size_t(c.cin)), beta = rnd_vec(size_t(c.cin)), mean, rstd;
    const int64_t cg = c.cin / gn_groups, len = cg * HW;
    for (int64_t ng = 0; ng < c.n * gn_groups; ++ng) {
      double s = 0, ss = 0;
      for (int64_t i = 0; i < len; ++i) s += x[size_t(ng * len + i)];
      const double mu = s / double(len);
      for (int64_t i = 0; i < len; ++i) ss += (x[size_t(ng * len + i)] - mu) * (x[size_t(ng * len + i)] - mu);
      const double rs = 1 / std::sqrt(ss / double(len) + 1e-5);
      mean.push_back(float(mu));
      rstd.push_back(float(rs));
      for (int64_t i = 0; i < len; ++i) {
        const int64_t ch = (ng % gn_groups) * cg + i / HW;
        const double v = (x[size_t(ng * len + i)] - mu) * rs * gamma[size_t(ch)] + beta[size_t(ch)];
        xpro[size_t(ng * len + i)] = v / (1 + std::exp(-v));
      }
    }
    scale.resize(size_t(c.n * c.cin));
    shift.resize(scale.size());
    for (int64_t i = 0; i < c.n * c.cin; ++i)
      ig::gn_scale_shift(i, c.cin, gn_groups, mean.data(), rstd.data(), gamma.data(), beta.data(), scale.data(),
                         shift.data());
  }
  std::vector<float> y(gy.size()), gx(x.size());
  const ig::Fwd fwd{c, gn_groups > 0 ? scale.data() : nullptr, gn_groups > 0 ? shift.data() : nullptr, gn_groups > 0};
  igemm_emulate(fwd, w.data(), x.data(), bias.data(), y);
  igemm_emulate(ig::Dgrad{c}, w.data(), gy.data(), nullptr, gx);
  // The float64 reference: direct_conv is linear in its input, so run it on xpro split into
  // a float head and tail (exact in double), and add the bias.
  std::vector<float> head(xpro.size()), tail(xpro.size());
  for (size_t i = 0; i < xpro.size(); ++i) {
    head[i] = float(xpro[i]);
    tail[i] = float(xpro[i] - head[i]);
  }
  std::vector<double> ry, rgx, ry2, unused;
  direct_conv(c, head, w, gy, ry, rgx);
  direct_conv(c, tail, w, gy, ry2, unused);
  for (size_t i = 0; i < ry.size(); ++i) ry[i] += ry2[i] + bias[size_t(int64_t(i) / P % c.cout)];
  const double ey = rel(y, ry), egx = rel(gx, rgx);
  std::printf("igemm %-44s y rel %.2e max %.2e | dgrad rel %.2e max %.2e\n", cc.name, ey, max_abs(y, ry), egx,
              max_abs(gx, rgx));
  CHECK(ey < 2e-6, "%s: implicit-GEMM y rel %g", cc.name, ey);
  CHECK(egx < 2e-6, "%s: implicit-GEMM dgrad rel %g", cc.name, egx);
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
  // The implicit GEMM: odd channels and sizes, stride 2, batch 2, several M / N / K tiles.
  const struct {
    ConvCase c;
    int64_t gn_groups;
  } igemms[] = {
      {{"3x3 pad 1, Cin 3, Cout 7, 9x9, n 2", 2, 3, 9, 9, 7, 3, 3, 1, 1, 1, 1, 1}, 0},
      {{"3x3 pad 1 stride 2, Cin 5, Cout 7, 13x13, n 2", 2, 5, 13, 13, 7, 3, 3, 2, 2, 1, 1, 1}, 0},
      {{"3x3 pad 1, Cin 5, Cout 7, 13x13 (3 N tiles, 2 K)", 2, 5, 13, 13, 7, 3, 3, 1, 1, 1, 1, 1}, 0},
      {{"1x1, Cin 40, Cout 130, 9x9 (2 M tiles)", 2, 40, 9, 9, 130, 1, 1, 1, 1, 0, 0, 1}, 0},
      {{"1x1 stride 2, Cin 5, Cout 7, 13x13", 2, 5, 13, 13, 7, 1, 1, 2, 2, 0, 0, 1}, 0},
      {{"3x5 pad [1, 2] stride [2, 1], 9x13", 2, 3, 9, 13, 7, 3, 5, 2, 1, 1, 2, 1}, 0},
      {{"3x3 pad 1 stride 2, Cin 12, 9x9 (4 K tiles)", 2, 12, 9, 9, 7, 3, 3, 2, 2, 1, 1, 1}, 0},
      {{"GN(2 groups)+SiLU prologue, 3x3 pad 1, Cin 6", 2, 6, 9, 9, 7, 3, 3, 1, 1, 1, 1, 1}, 2},
      {{"GN(3 groups)+SiLU, 3x3 pad 1, Cin 15, 13x13 (5 K)", 2, 15, 13, 13, 7, 3, 3, 1, 1, 1, 1, 1}, 3},
      {{"GN(5 groups)+SiLU prologue, 3x3 s2 pad 1, Cin 5", 2, 5, 13, 13, 7, 3, 3, 2, 2, 1, 1, 1}, 5},
      {{"GN(4 groups)+SiLU prologue, 1x1, Cin 8", 2, 8, 9, 9, 7, 1, 1, 1, 1, 0, 0, 1}, 4},
  };
  for (const auto& c : igemms) igemm_case(c.c, c.gn_groups);
  std::printf("%d checks passed\n", g_checks);
  return 0;
}
