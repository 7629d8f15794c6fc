// AVX-512 GEMM micro-kernel: a 12 x 32 tile of C (24 zmm accumulators, 2 zmm of packed B
// and one broadcast of packed A per k: 24 FMAs per 2 loads + 12 broadcasts). Edges (m < 12,
// n < 32) use the same accumulation and masked loads/stores of C.
// Measured on the 2-core Zen 4 dev machine (1 core, 1024^3, blocking below): see
// bench/gemm.bench.ts; 12x32 beat 14x32, 8x48 and 6x64 there.
#include <immintrin.h>

#include "core/cpu_features.h"
#include "ops/cpu/gemm_kernels.h"
#include "ops/cpu/gemm_pack.h"

namespace vlv::cpu::gemm {

namespace {

constexpr int kMR = 12, kNV = 2, kNR = kNV * 16;

VLV_TARGET_AVX512 void kernel_12x32(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n,
                                    float alpha, float beta) {
  __m512 acc[kMR][kNV];
#pragma GCC unroll 12
  for (int i = 0; i < kMR; ++i)
#pragma GCC unroll 2
    for (int j = 0; j < kNV; ++j) acc[i][j] = _mm512_setzero_ps();

  for (int64_t k = 0; k < kc; ++k) {
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNR), _MM_HINT_T0);
    __m512 bv[kNV];
#pragma GCC unroll 2
    for (int j = 0; j < kNV; ++j) bv[j] = _mm512_load_ps(b + 16 * j);
#pragma GCC unroll 12
    for (int i = 0; i < kMR; ++i) {
      const __m512 av = _mm512_set1_ps(a[i]);
#pragma GCC unroll 2
      for (int j = 0; j < kNV; ++j) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
    }
    a += kMR;
    b += kNR;
  }

  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  if (m == kMR && n == kNR) {
#pragma GCC unroll 12
    for (int i = 0; i < kMR; ++i)
#pragma GCC unroll 2
      for (int j = 0; j < kNV; ++j) {
        float* p = c + i * ldc + 16 * j;
        __m512 r = _mm512_mul_ps(acc[i][j], va);
        if (beta != 0.f) r = _mm512_fmadd_ps(_mm512_loadu_ps(p), vb, r);
        _mm512_storeu_ps(p, r);
      }
    return;
  }
  __mmask16 mask[kNV];
  for (int j = 0; j < kNV; ++j) {
    int left = n - 16 * j;
    mask[j] = left >= 16 ? __mmask16(0xFFFF) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1);
  }
#pragma GCC unroll 12
  for (int i = 0; i < kMR; ++i) {
    if (i >= m) break;
#pragma GCC unroll 2
    for (int j = 0; j < kNV; ++j) {
      float* p = c + i * ldc + 16 * j;
      __m512 r = _mm512_mul_ps(acc[i][j], va);
      if (beta != 0.f) r = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask[j], p), vb, r);
      _mm512_mask_storeu_ps(p, mask[j], r);
    }
  }
}

}  // namespace

KernelSpec kernel_avx512() { return {kernel_12x32, pack_panels<kMR>, pack_panels<kNR>, kMR, kNR, 384, 576, 480, "avx512 12x32"}; }

}  // namespace vlv::cpu::gemm
