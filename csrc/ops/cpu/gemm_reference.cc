// gemm_f32: a plain reference version (replaced by the packed, blocked kernel).
#include "core/thread_pool.h"
#include "ops/cpu/gemm.h"

namespace vlv::cpu {

void gemm_f32(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc, bool parallel) {
  auto rows = [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) {
      float* c = C + m * ldc;
      for (int64_t n = 0; n < N; ++n) c[n] = beta == 0.f ? 0.f : beta * c[n];
      for (int64_t k = 0; k < K; ++k) {
        float a = alpha * (ta ? A[k * lda + m] : A[m * lda + k]);
        if (!tb) {
          const float* b = B + k * ldb;
          for (int64_t n = 0; n < N; ++n) c[n] += a * b[n];
        } else {
          for (int64_t n = 0; n < N; ++n) c[n] += a * B[n * ldb + k];
        }
      }
    }
  };
  if (parallel) parallel_for(M, 16, rows);
  else rows(0, M);
}

}  // namespace vlv::cpu
