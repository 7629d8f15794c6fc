// gemm_f32 (gemm.h): packed, cache-blocked f32 GEMM.
//
// Loops (BLIS order, with roles chosen for row-major C): for each block of mc rows of op(A)
// and kc of K, pack op(A) into MR-row panels (L2 / L3); for each block of nc columns of op(B),
// pack op(B) into NR-column panels (L2); then every MR x NR tile of C is one micro-kernel call
// (gemm_kernels_*.cc: AVX-512 12x32, AVX2 6x16, scalar 4x8, picked by simd_level()). An MR x kc
// panel of A stays in L1 while the B panels stream from L2.
// M == 1 or N == 1 go to the GEMV kernels (gemm_gemv.cc) instead: no packing.
// Threads: C is cut into rectangles (rows and/or columns, at tile multiples), 2 per thread
// for large problems, handed out from a counter; each packs what its rectangle needs. K blocks depend on K only and
// every C element sums its k terms in the same order in every tile, so results do not depend on the thread count.
// Measured: gemm_kernels_avx512.cc (one core) and bench/gemm.bench.ts (against OpenBLAS and
// torch in the same run).
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/gemm_kernels.h"

namespace vlv::cpu {

namespace {

using gemm::KernelSpec;

const KernelSpec& active_kernel() {
  static const KernelSpec spec = [] {
    switch (simd_level()) {
      case SimdLevel::AVX512: return gemm::kernel_avx512();
      case SimdLevel::AVX2: return gemm::kernel_avx2();
      default: return gemm::kernel_scalar();
    }
  }();
  return spec;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// The block size that cuts `extent` into as few near-equal blocks of at most ~`block` as
// possible, each a multiple of `align`.
int64_t even_block(int64_t extent, int64_t block, int64_t align) {
  return round_up(ceil_div(extent, ceil_div(extent, block)), align);
}

// Grow-only, 64-byte aligned packing buffer, one per thread (pool threads live for the process).
class Scratch {
 public:
  float* get(int64_t floats) {
    size_t bytes = size_t(round_up(floats * int64_t(sizeof(float)), 64));
    if (bytes > bytes_) {
      buf_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
      bytes_ = buf_ ? bytes : 0;
    }
    return buf_.get();
  }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> buf_;
  size_t bytes_ = 0;
};

thread_local Scratch t_pack_a, t_pack_b;

struct Problem {
  bool ta, tb;
  int64_t K;
  float alpha;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float beta;
  float* C;
  int64_t ldc;
};

// C[m0:m1, n0:n1] on the calling thread. False when the packing buffers cannot be allocated.
bool gemm_rect(const Problem& p, const KernelSpec& ks, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int64_t M = m1 - m0, N = n1 - n0;
  const int64_t kc_blk = even_block(p.K, ks.kc, 1);  // depends on K only (see the header)
  const int64_t mc_blk = even_block(M, ks.mc, ks.mr), nc_blk = even_block(N, ks.nc, ks.nr);
  float* pa = t_pack_a.get(mc_blk * kc_blk);
  float* pb = t_pack_b.get(nc_blk * kc_blk);
  if (!pa || !pb) return false;
  for (int64_t ic = 0; ic < M; ic += mc_blk) {
    const int64_t mc = std::min(mc_blk, M - ic), row = m0 + ic;
    for (int64_t pc = 0; pc < p.K; pc += kc_blk) {
      const int64_t kc = std::min(kc_blk, p.K - pc);
      const float beta = pc == 0 ? p.beta : 1.f;
      ks.pack_a(p.ta ? p.A + pc * p.lda + row : p.A + row * p.lda + pc, p.lda, p.ta, mc, kc, pa);
      for (int64_t jc = 0; jc < N; jc += nc_blk) {
        const int64_t nc = std::min(nc_blk, N - jc), col = n0 + jc;
        ks.pack_b(p.tb ? p.B + col * p.ldb + pc : p.B + pc * p.ldb + col, p.ldb, !p.tb, nc, kc, pb);
        for (int64_t ir = 0; ir < mc; ir += ks.mr) {
          float* c = p.C + (row + ir) * p.ldc + col;
          const int m = int(std::min<int64_t>(ks.mr, mc - ir));
          for (int64_t jr = 0; jr < nc; jr += ks.nr)
            ks.fn(kc, pa + ir * kc, pb + jr * kc, c + jr, p.ldc, m, int(std::min<int64_t>(ks.nr, nc - jr)), p.alpha,
                  beta);
        }
      }
    }
  }
  return true;
}

// How to cut C into `pieces` rectangles: tm row pieces x tn column pieces, the grid with the
// least total work (tile-rounded multiply-adds plus the packing each piece does).
struct Grid {
  int64_t tm, tn;
};
Grid choose_grid(int64_t M, int64_t N, int64_t K, int64_t pieces, const KernelSpec& ks) {
  Grid best{1, 1};
  double best_cost = -1;
  for (int64_t tm = 1; tm <= pieces; ++tm) {
    if (pieces % tm) continue;
    const int64_t tn = pieces / tm;
    if (tm > ceil_div(M, ks.mr) || tn > ceil_div(N, ks.nr)) continue;
    const double m = double(round_up(ceil_div(M, tm), ks.mr)), n = double(round_up(ceil_div(N, tn), ks.nr));
    const double packs =
        m * double(K) * double(ceil_div(int64_t(n), ks.nc)) + n * double(K) * double(ceil_div(int64_t(m), ks.mc));
    const double cost = double(pieces) * (m * n * double(K) + 4 * packs);
    if (best_cost < 0 || cost < best_cost) best = {tm, tn}, best_cost = cost;
  }
  return best;
}

// Rows [begin, end) of piece i of `pieces`, cut at multiples of `align`.
std::pair<int64_t, int64_t> piece_range(int64_t extent, int64_t pieces, int64_t i, int64_t align) {
  const int64_t units = ceil_div(extent, align);
  return {std::min(extent, units * i / pieces * align), std::min(extent, units * (i + 1) / pieces * align)};
}

// M == 1 or N == 1: a matrix-vector product (gemm_gemv.cc), W read once with no packing.
void gemv_path(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc, bool parallel) {
  // As y[n] (n < len) from x[K] and W: M == 1 takes x = op(A) row 0, W = op(B); N == 1 takes
  // x = op(B) column 0, W = op(A)^T.
  const bool row = M == 1;
  const int64_t len = row ? N : M;
  const bool x_strided = row ? ta : !tb;
  const float* xs = row ? A : B;
  const int64_t x_step = row ? lda : ldb;
  const float* w = row ? B : A;
  const int64_t ldw = row ? ldb : lda;
  const bool dot_form = row ? tb : !ta;
  std::vector<float> x_buf, y_buf;
  const float* x = xs;
  if (x_strided) {
    x_buf.resize(size_t(K));
    for (int64_t k = 0; k < K; ++k) x_buf[size_t(k)] = xs[k * x_step];
    x = x_buf.data();
  }
  const int64_t y_step = row ? 1 : ldc;
  float* y = C;
  if (y_step != 1) {
    y_buf.assign(size_t(len), 0.f);
    if (beta != 0.f)
      for (int64_t i = 0; i < len; ++i) y_buf[size_t(i)] = C[i * y_step];
    y = y_buf.data();
  }
  const gemm::GemvFn fn = gemm::gemv_kernel(dot_form);
  auto body = [&](int64_t n0, int64_t n1) { fn(K, n0, n1, alpha, x, w, ldw, beta, y); };
  if (parallel && double(len) * double(K) >= 65536) parallel_for(len, std::max<int64_t>(64, 8192 / K), body);
  else body(0, len);
  if (y_step != 1)
    for (int64_t i = 0; i < len; ++i) C[i * y_step] = y_buf[size_t(i)];
}

void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) C[m * ldc + n] = beta == 0.f ? 0.f : beta * C[m * ldc + n];
}

}  // namespace

void gemm_f32(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc, bool parallel) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.f) return scale_c(M, N, beta, C, ldc);
  if (M == 1 || N == 1) return gemv_path(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, parallel);
  const KernelSpec& ks = active_kernel();
  const Problem p{ta, tb, K, alpha, A, lda, B, ldb, beta, C, ldc};
  // Below ~1 MFLOP the hand-off to the pool costs more than it saves. Larger problems are cut
  // into 2 pieces per thread, taken from a shared counter: a thread slowed by another process
  // on its core takes fewer pieces (the dev machine is shared). 4 pieces per thread cost ~5%
  // more packing (CPU time, 1024^3); 2 cost ~2%.
  const double flops = 2.0 * double(M) * double(N) * double(K);
  const int threads = parallel && flops >= 1e6 ? num_threads() : 1;
  const int64_t pieces = threads == 1 ? 1 : threads * std::clamp<int64_t>(int64_t(flops / (4e6 * threads)), 1, 2);
  Grid g = choose_grid(M, N, K, pieces, ks);
  if (g.tm * g.tn == 1 && pieces > threads) g = choose_grid(M, N, K, threads, ks);
  const int64_t count = g.tm * g.tn;
  std::atomic<int64_t> next{0};
  std::atomic<bool> ok{true};
  auto run = [&](int64_t, int64_t) {
    for (int64_t t; (t = next.fetch_add(1)) < count;) {
      auto [m0, m1] = piece_range(M, g.tm, t / g.tn, ks.mr);
      auto [n0, n1] = piece_range(N, g.tn, t % g.tn, ks.nr);
      if (m0 < m1 && n0 < n1 && !gemm_rect(p, ks, m0, m1, n0, n1)) ok = false;
    }
  };
  if (count > 1) parallel_for(std::min<int64_t>(threads, count), 1, run);
  else run(0, 1);
  VLV_CHECK(ok, ErrorCode::OOM, "gemm_f32: cannot allocate the packing buffers (M=", M, ", N=", N, ", K=", K, ")");
}

}  // namespace vlv::cpu
