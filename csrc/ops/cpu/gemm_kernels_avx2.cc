// AVX2 + FMA GEMM micro-kernel: a 6 x 16 tile of C (12 ymm accumulators, 2 ymm of packed B
// and one broadcast of packed A per k). Edges (m < 6, n < 16) use the same accumulation and
// masked loads/stores of C. Used where AVX-512 is missing or VLV_SIMD=avx2.
#include <immintrin.h>

#include "core/cpu_features.h"
#include "ops/cpu/gemm_kernels.h"
#include "ops/cpu/gemm_pack.h"

namespace vlv::cpu::gemm {

namespace {

constexpr int kMR = 6, kNV = 2, kNR = kNV * 8;

VLV_TARGET_AVX2 void kernel_6x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n,
                                 float alpha, float beta) {
  __m256 acc[kMR][kNV];
#pragma GCC unroll 6
  for (int i = 0; i < kMR; ++i)
#pragma GCC unroll 2
    for (int j = 0; j < kNV; ++j) acc[i][j] = _mm256_setzero_ps();

  for (int64_t k = 0; k < kc; ++k) {
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNR), _MM_HINT_T0);
    __m256 bv[kNV];
#pragma GCC unroll 2
    for (int j = 0; j < kNV; ++j) bv[j] = _mm256_load_ps(b + 8 * j);
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) {
      const __m256 av = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 2
      for (int j = 0; j < kNV; ++j) acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
    }
    a += kMR;
    b += kNR;
  }

  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (m == kMR && n == kNR) {
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i)
#pragma GCC unroll 2
      for (int j = 0; j < kNV; ++j) {
        float* p = c + i * ldc + 8 * j;
        __m256 r = _mm256_mul_ps(acc[i][j], va);
        if (beta != 0.f) r = _mm256_fmadd_ps(_mm256_loadu_ps(p), vb, r);
        _mm256_storeu_ps(p, r);
      }
    return;
  }
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i mask[kNV];
  for (int j = 0; j < kNV; ++j) mask[j] = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - 8 * j), lane);
  for (int i = 0; i < m; ++i)
#pragma GCC unroll 2
    for (int j = 0; j < kNV; ++j) {
      float* p = c + i * ldc + 8 * j;
      __m256 r = _mm256_mul_ps(acc[i][j], va);
      if (beta != 0.f) r = _mm256_fmadd_ps(_mm256_maskload_ps(p, mask[j]), vb, r);
      _mm256_maskstore_ps(p, mask[j], r);
    }
}

}  // namespace

KernelSpec kernel_avx2() {
  return {kernel_6x16, pack_panels<kMR>, pack_panels<kNR>, kMR, kNR, 256, 288, 512, "avx2 6x16"};
}

}  // namespace vlv::cpu::gemm
