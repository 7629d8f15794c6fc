// AVX-512 GEMM micro-kernel: a 12 x 32 tile of C (24 zmm accumulators, 2 zmm of packed B
// and one broadcast of packed A per k: 24 FMAs per 2 loads + 12 broadcasts). Edges (m < 12,
// n < 32) use the same accumulation and masked loads/stores of C.
// Measured on the 2-core Zen 4 dev machine, one core, CPU time (the machine is shared), median
// of 10: 1024^3 97 GFLOP/s (OpenBLAS 94), x @ w^T 1024^3 99 (92), 77x1024x4096 75 (62),
// 4096x320x320 95 (92), 256^3 100 (98). A 14x32 tile and kc 256..512 / mc 576..1200 / nc
// 240..960 measured the same within noise. Packing of row-strided blocks (op(A) = A,
// op(B) = B^T: linear's weight) transposes 16 x 16 blocks in registers; a scalar copy
// thrashed L1 at 4 KiB strides (x @ w^T 1024^3 was at half speed).
#include <immintrin.h>

#include <algorithm>

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

// GCC 12 flags the self-initialised _mm512_undefined_ps() inside the shuffle intrinsics.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// In-register transpose: r[i] holds row i (16 columns); afterwards r[c] holds column c.
VLV_TARGET_AVX512 inline void transpose16x16(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // u[4g + j], 128-bit lane L: column 4L + j of rows 4g .. 4g + 3.
  __m512 u[16];
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    u[4 * g] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const __m512 v0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88), v1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xdd);
    const __m512 w0 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88),
                 w1 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xdd);
    r[j] = _mm512_shuffle_f32x4(v0, w0, 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(v0, w0, 0xdd);
    r[4 + j] = _mm512_shuffle_f32x4(v1, w1, 0x88);
    r[12 + j] = _mm512_shuffle_f32x4(v1, w1, 0xdd);
  }
}

// pack_panels<W> (gemm_pack.h) with the row-strided case done 16 rows x 16 k at a time.
template <int W>
VLV_TARGET_AVX512 void pack_avx512(const float* src, int64_t ld, bool k_major, int64_t rows, int64_t kc, float* dst) {
  if (k_major) return pack_panels<W>(src, ld, k_major, rows, kc, dst);
  for (int64_t r0 = 0; r0 < rows; r0 += W, dst += W * kc) {
    for (int h = 0; h < W; h += 16) {
      const int64_t valid = std::min<int64_t>(16, rows - r0 - h);  // rows of this group in A/B
      const int lanes = std::min(16, W - h);                       // rows of this group in dst
      const __mmask16 store_mask = __mmask16((1u << lanes) - 1);
      const float* s = src + (r0 + h) * ld;
      for (int64_t k0 = 0; k0 < kc; k0 += 16) {
        const int kn = int(std::min<int64_t>(16, kc - k0));
        const __mmask16 load_mask = __mmask16((1u << kn) - 1);
        __m512 r[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; ++i)
          r[i] = i < valid ? _mm512_maskz_loadu_ps(load_mask, s + i * ld + k0) : _mm512_setzero_ps();
        transpose16x16(r);
        for (int c = 0; c < kn; ++c) _mm512_mask_storeu_ps(dst + (k0 + c) * W + h, store_mask, r[c]);
      }
    }
  }
}

#pragma GCC diagnostic pop

}  // namespace

KernelSpec kernel_avx512() {
  return {kernel_12x32, pack_avx512<kMR>, pack_avx512<kNR>, kMR, kNR, 384, 1200, 480, "avx512 12x32"};
}

}  // namespace vlv::cpu::gemm
