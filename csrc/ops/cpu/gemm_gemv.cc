// Matrix-vector products for gemm_f32's M == 1 and N == 1 cases (an LM decoding one token,
// a projection of one vector): no packing, W read once, which is all a GEMV can ask for.
//   dot form   y[n] = alpha * sum_k x[k] * w[n * ldw + k] + beta * y[n]   (W rows along k)
//   axpy form  y[n] = alpha * sum_k x[k] * w[k * ldw + n] + beta * y[n]   (W rows along n)
// AVX-512, AVX2 and scalar variants by simd_level(). Every y[n] is summed in the same order
// whatever the split of n over threads.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "core/cpu_features.h"
#include "ops/cpu/gemm_kernels.h"

namespace vlv::cpu::gemm {

namespace {

inline float finish(float acc, float alpha, float beta, const float* y) {
  return beta == 0.f ? alpha * acc : alpha * acc + beta * *y;
}

// ---- dot form: 4 rows of W at a time against one x ----

VLV_TARGET_AVX2 float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

// GCC 12 flags the self-initialised _mm256_undefined_ps() inside the cast intrinsic.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
VLV_TARGET_AVX512 float hsum512(__m512 v) {
  return hsum256(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

VLV_TARGET_AVX512 void dot_avx512(int64_t K, int64_t n0, int64_t n1, float alpha, const float* x, const float* w,
                                  int64_t ldw, float beta, float* y) {
  const int64_t kv = K / 16 * 16;
  const __mmask16 tail = __mmask16((1u << (K - kv)) - 1);
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) {
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t k = 0; k < kv; k += 16) {
      const __m512 xv = _mm512_loadu_ps(x + k);
      for (int r = 0; r < 4; ++r) acc[r] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w + (n + r) * ldw + k), acc[r]);
    }
    const __m512 xv = _mm512_maskz_loadu_ps(tail, x + kv);
    for (int r = 0; r < 4; ++r) {
      acc[r] = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, w + (n + r) * ldw + kv), acc[r]);
      y[n + r] = finish(hsum512(acc[r]), alpha, beta, y + n + r);
    }
  }
  for (; n < n1; ++n) {
    __m512 acc = _mm512_setzero_ps();
    for (int64_t k = 0; k < kv; k += 16)
      acc = _mm512_fmadd_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(w + n * ldw + k), acc);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, x + kv), _mm512_maskz_loadu_ps(tail, w + n * ldw + kv), acc);
    y[n] = finish(hsum512(acc), alpha, beta, y + n);
  }
}

#pragma GCC diagnostic pop

VLV_TARGET_AVX2 void dot_avx2(int64_t K, int64_t n0, int64_t n1, float alpha, const float* x, const float* w,
                              int64_t ldw, float beta, float* y) {
  const int64_t kv = K / 8 * 8;
  for (int64_t n = n0; n < n1; ++n) {
    const float* row = w + n * ldw;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t k = 0; k < kv; k += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(row + k), acc);
    float s = hsum256(acc);
    for (int64_t k = kv; k < K; ++k) s += x[k] * row[k];
    y[n] = finish(s, alpha, beta, y + n);
  }
}

void dot_scalar(int64_t K, int64_t n0, int64_t n1, float alpha, const float* x, const float* w, int64_t ldw, float beta,
                float* y) {
  for (int64_t n = n0; n < n1; ++n) {
    float s = 0.f;
    for (int64_t k = 0; k < K; ++k) s += x[k] * w[n * ldw + k];
    y[n] = finish(s, alpha, beta, y + n);
  }
}

// ---- axpy form: a chunk of y accumulated over the rows of W (the loop vectorises) ----

constexpr int64_t kAxpyChunk = 512;

template <class Body>
inline void axpy_chunks(int64_t K, int64_t n0, int64_t n1, float alpha, const float* x, const float* w, int64_t ldw,
                        float beta, float* y, Body body) {
  alignas(64) float acc[kAxpyChunk];
  for (int64_t c0 = n0; c0 < n1; c0 += kAxpyChunk) {
    const int64_t len = std::min(kAxpyChunk, n1 - c0);
    std::fill(acc, acc + len, 0.f);
    for (int64_t k = 0; k < K; ++k) body(acc, x[k], w + k * ldw + c0, len);
    for (int64_t j = 0; j < len; ++j) y[c0 + j] = finish(acc[j], alpha, beta, y + c0 + j);
  }
}

VLV_TARGET_AVX512 void axpy_avx512(int64_t K, int64_t n0, int64_t n1, float alpha, const float* x, const float* w,
                                   int64_t ldw, float beta, float* y) {
  axpy_chunks(K, n0, n1, alpha, x, w, ldw, beta, y,
              [](float* acc, float xk, const float* row, int64_t len) VLV_TARGET_AVX512 {
                const __m512 xv = _mm512_set1_ps(xk);
                int64_t j = 0;
                for (; j + 16 <= len; j += 16)
                  _mm512_store_ps(acc + j, _mm512_fmadd_ps(xv, _mm512_loadu_ps(row + j), _mm512_load_ps(acc + j)));
                if (j < len) {
                  const __mmask16 m = __mmask16((1u << (len - j)) - 1);
                  _mm512_mask_store_ps(acc + j, m,
                                       _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, row + j), _mm512_load_ps(acc + j)));
                }
              });
}

VLV_TARGET_AVX2 void axpy_avx2(int64_t K, int64_t n0, int64_t n1, float alpha, const float* x, const float* w,
                               int64_t ldw, float beta, float* y) {
  axpy_chunks(K, n0, n1, alpha, x, w, ldw, beta, y,
              [](float* acc, float xk, const float* row, int64_t len) VLV_TARGET_AVX2 {
                const __m256 xv = _mm256_set1_ps(xk);
                int64_t j = 0;
                for (; j + 8 <= len; j += 8)
                  _mm256_store_ps(acc + j, _mm256_fmadd_ps(xv, _mm256_loadu_ps(row + j), _mm256_load_ps(acc + j)));
                for (; j < len; ++j) acc[j] = std::fma(xk, row[j], acc[j]);
              });
}

void axpy_scalar(int64_t K, int64_t n0, int64_t n1, float alpha, const float* x, const float* w, int64_t ldw,
                 float beta, float* y) {
  axpy_chunks(K, n0, n1, alpha, x, w, ldw, beta, y, [](float* acc, float xk, const float* row, int64_t len) {
    for (int64_t j = 0; j < len; ++j) acc[j] += xk * row[j];
  });
}

}  // namespace

GemvFn gemv_kernel(bool dot_form) {
  switch (simd_level()) {
    case SimdLevel::AVX512: return dot_form ? dot_avx512 : axpy_avx512;
    case SimdLevel::AVX2: return dot_form ? dot_avx2 : axpy_avx2;
    default: return dot_form ? dot_scalar : axpy_scalar;
  }
}

}  // namespace vlv::cpu::gemm
