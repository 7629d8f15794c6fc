// Tile kernels of the fused CPU attention (see attention_tiles.h).
// gemm: broadcast-FMA micro-kernels, R rows x NV vectors of C held in registers
// (AVX-512: 6 x 4 zmm = 6 x 64 floats; AVX2: 4 x 3 ymm = 4 x 24 floats), masked loads and
// stores for the column tail, so any N (head dims 8, 24, 64, 80, 128...) needs no padding.
// exp: Cephes' degree-5 polynomial after a 2^n range reduction (about 1 ulp on [-87, 88]);
// inputs below -87.3 (masked scores, -inf) give exactly 0.
#include "ops/cpu/attention_tiles.h"
#include "ops/cpu/vec_math.h"

// GCC 12 reports its own _mm512_undefined_* helpers as uninitialized (a false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace vlv::cpu {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// ---- scalar reference ------------------------------------------------------------------

void gemm_scalar(int64_t M, int64_t N, int64_t K, const float* A, int64_t ars, int64_t acs, const float* B, int64_t ldb,
                 float* C, int64_t ldc, bool acc) {
  for (int64_t m = 0; m < M; ++m) {
    float* c = C + m * ldc;
    if (!acc) std::fill(c, c + N, 0.f);
    for (int64_t k = 0; k < K; ++k) {
      const float a = A[m * ars + k * acs];
      const float* b = B + k * ldb;
      for (int64_t n = 0; n < N; ++n) c[n] += a * b[n];
    }
  }
}

float row_max_scalar(const float* x, int64_t n) {
  float m = kNegInf;
  for (int64_t j = 0; j < n; ++j) m = std::max(m, x[j]);
  return m;
}

float exp_sum_scalar(float* x, int64_t n, float sub) {
  float s = 0.f;
  for (int64_t j = 0; j < n; ++j) {
    x[j] = std::exp(x[j] - sub);
    s += x[j];
  }
  return s;
}

// Cephes expf constants.

// ---- AVX-512 ---------------------------------------------------------------------------

VLV_TARGET_AVX512 inline __mmask16 tail16(int64_t left) {
  return left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
}

template <int R, int NV>
VLV_TARGET_AVX512 void micro512(int64_t K, const float* A, int64_t ars, int64_t acs, const float* B, int64_t ldb,
                                float* C, int64_t ldc, int64_t ncols, bool acc) {
  __mmask16 mask[NV];
  _Pragma("GCC unroll 8") for (int v = 0; v < NV; ++v) mask[v] = tail16(ncols - 16 * v);
  __m512 c[R][NV];
  _Pragma("GCC unroll 8") for (int r = 0; r < R; ++r) _Pragma("GCC unroll 8") for (int v = 0; v < NV; ++v) c[r][v] =
      acc ? _mm512_maskz_loadu_ps(mask[v], C + r * ldc + 16 * v) : _mm512_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    __m512 b[NV];
    _Pragma("GCC unroll 8") for (int v = 0; v < NV; ++v) b[v] = _mm512_maskz_loadu_ps(mask[v], B + k * ldb + 16 * v);
    const float* a = A + k * acs;
    _Pragma("GCC unroll 8") for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(a[r * ars]);
      _Pragma("GCC unroll 8") for (int v = 0; v < NV; ++v) c[r][v] = _mm512_fmadd_ps(av, b[v], c[r][v]);
    }
  }
  _Pragma("GCC unroll 8") for (int r = 0; r < R; ++r) _Pragma("GCC unroll 8") for (int v = 0; v < NV; ++v)
      _mm512_mask_storeu_ps(C + r * ldc + 16 * v, mask[v], c[r][v]);
}

using MicroFn = void (*)(int64_t, const float*, int64_t, int64_t, const float*, int64_t, float*, int64_t, int64_t,
                         bool);

// table[r - 1][nv - 1] for r rows and nv vectors, up to Rmax x NVmax.
template <template <int, int> class Fn, int Rmax, int NVmax>
struct MicroTable {
  MicroFn t[Rmax][NVmax];
  template <int R, int NV>
  void fill() {
    t[R - 1][NV - 1] = Fn<R, NV>::run;
    if constexpr (NV < NVmax) fill<R, NV + 1>();
    else if constexpr (R < Rmax) fill<R + 1, 1>();
  }
  MicroTable() { fill<1, 1>(); }
};

template <int R, int NV>
struct Micro512 {
  static constexpr MicroFn run = micro512<R, NV>;
};

template <template <int, int> class Fn, int Rmax, int NVmax, int W>
void gemm_blocked(int64_t M, int64_t N, int64_t K, const float* A, int64_t ars, int64_t acs, const float* B,
                  int64_t ldb, float* C, int64_t ldc, bool acc) {
  static const MicroTable<Fn, Rmax, NVmax> table;
  constexpr int64_t kCols = int64_t(NVmax) * W;
  for (int64_t n0 = 0; n0 < N; n0 += kCols) {
    const int64_t nc = std::min(kCols, N - n0);
    const int64_t nv = (nc + W - 1) / W;
    for (int64_t m0 = 0; m0 < M; m0 += Rmax) {
      const int64_t r = std::min<int64_t>(Rmax, M - m0);
      table.t[r - 1][nv - 1](K, A + m0 * ars, ars, acs, B + n0, ldb, C + m0 * ldc + n0, ldc, nc, acc);
    }
  }
}

VLV_TARGET_AVX512 float row_max512(const float* x, int64_t n) {
  __m512 m = _mm512_set1_ps(kNegInf);
  for (int64_t j = 0; j < n; j += 16) m = _mm512_max_ps(m, _mm512_mask_loadu_ps(m, tail16(n - j), x + j));
  return _mm512_reduce_max_ps(m);
}

VLV_TARGET_AVX512 float exp_sum512(float* x, int64_t n, float sub) {
  const __m512 s = _mm512_set1_ps(sub);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = tail16(n - j);
    const __m512 e = vec::exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), s));
    _mm512_mask_storeu_ps(x + j, k, e);
    acc = _mm512_mask_add_ps(acc, k, acc, e);
  }
  return _mm512_reduce_add_ps(acc);
}

// ---- AVX2 ------------------------------------------------------------------------------

VLV_TARGET_AVX2 inline __m256i tail8(int64_t left) {
  const int64_t k = std::min<int64_t>(left, 8);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(k)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <int R, int NV>
VLV_TARGET_AVX2 void micro256(int64_t K, const float* A, int64_t ars, int64_t acs, const float* B, int64_t ldb,
                              float* C, int64_t ldc, int64_t ncols, bool acc) {
  __m256i mask[NV];
  _Pragma("GCC unroll 8") for (int v = 0; v < NV; ++v) mask[v] = tail8(ncols - 8 * v);
  __m256 c[R][NV];
  _Pragma("GCC unroll 8") for (int r = 0; r < R; ++r) _Pragma("GCC unroll 8") for (int v = 0; v < NV; ++v) c[r][v] =
      acc ? _mm256_maskload_ps(C + r * ldc + 8 * v, mask[v]) : _mm256_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    __m256 b[NV];
    _Pragma("GCC unroll 8") for (int v = 0; v < NV; ++v) b[v] = _mm256_maskload_ps(B + k * ldb + 8 * v, mask[v]);
    const float* a = A + k * acs;
    _Pragma("GCC unroll 8") for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * ars);
      _Pragma("GCC unroll 8") for (int v = 0; v < NV; ++v) c[r][v] = _mm256_fmadd_ps(av, b[v], c[r][v]);
    }
  }
  _Pragma("GCC unroll 8") for (int r = 0; r < R; ++r) _Pragma("GCC unroll 8") for (int v = 0; v < NV; ++v)
      _mm256_maskstore_ps(C + r * ldc + 8 * v, mask[v], c[r][v]);
}

template <int R, int NV>
struct Micro256 {
  static constexpr MicroFn run = micro256<R, NV>;
};

VLV_TARGET_AVX2 float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

VLV_TARGET_AVX2 float row_max256(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(kNegInf);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + j));
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  float r = std::max(_mm_cvtss_f32(h), _mm_cvtss_f32(_mm_movehdup_ps(h)));
  for (; j < n; ++j) r = std::max(r, x[j]);
  return r;
}

VLV_TARGET_AVX2 float exp_sum256(float* x, int64_t n, float sub) {
  const __m256 s = _mm256_set1_ps(sub);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; j += 8) {
    const __m256i k = tail8(n - j);
    const __m256 e = _mm256_and_ps(vec::exp256(_mm256_sub_ps(_mm256_maskload_ps(x + j, k), s)), _mm256_castsi256_ps(k));
    _mm256_maskstore_ps(x + j, k, e);
    acc = _mm256_add_ps(acc, e);
  }
  return hsum256(acc);
}

}  // namespace

const TileOps& tile_ops(SimdLevel level) {
  static const TileOps scalar{gemm_scalar, row_max_scalar, exp_sum_scalar};
  static const TileOps avx2{gemm_blocked<Micro256, 4, 3, 8>, row_max256, exp_sum256};
  static const TileOps avx512{gemm_blocked<Micro512, 6, 4, 16>, row_max512, exp_sum512};
  switch (level) {
    case SimdLevel::AVX512: return avx512;
    case SimdLevel::AVX2: return avx2;
    default: return scalar;
  }
}

}  // namespace vlv::cpu
