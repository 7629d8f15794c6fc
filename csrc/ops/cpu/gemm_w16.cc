// f32 activations times 16-bit weights (gemm_w16.h): y = x @ w^T and dx = gy @ w with w
// [out, in] bf16 or f16, kept 16-bit in memory (half the bytes a decode step streams).
//
//   few rows (rows <= 16: decoding, a handful of sequences): one weight row at a time against
//     up to 4 input rows; each 16-bit weight vector is loaded once, widened in registers (bf16:
//     shift into the high half; f16: vcvtph2ps) and used for every input row, so the weights
//     stream from memory once, in address order. (Tiles of 4 weight rows read 4 interleaved
//     streams; with rows of 1-2 KiB (K = 896) the hardware prefetcher lost them: about half
//     the bandwidth.) AVX-512 (16 lanes), AVX2 (8 lanes), scalar.
//   more rows (prefill, training): blocks of weight rows are upcast to an f32 buffer and
//     multiplied with the shared gemm_f32 (the upcast is O(out*in) against O(rows*out*in)).
//   dx: blocks of weight rows upcast likewise, summed into dx with gemm_f32 (beta = 1 after
//     the first block: a fixed order).
// Each y element is one lane-wise sum in k order then a fixed horizontal reduction, whatever
// tile or thread computes it, so results do not depend on the thread count. AVX512-BF16's
// vdpbf16ps is not used: it would round the activations to bf16 too.
// Measured (2-core AVX-512 box, shared; bench/decode.bench.ts): a Qwen2.5-0.5B-shaped model
// with bf16 matrices decodes 14.5 tok/s at batch 1, 1.04x the floor of 0.99 GB/step at the
// 13.7 GB/s memcpy rate of the same run (f32 weights through gemm_f32: 0.82x); a bf16
// [151936, 896] LM head reads at up to ~30 GB/s when the machine is quiet. Batch 4: 29 tok/s.
#include "ops/cpu/gemm_w16.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ops/cpu/gemm.h"

namespace vlv::cpu {

namespace {

constexpr int64_t kDirectRows = 16;  // up to this many input rows: direct tiles

using DirectFn = void (*)(int64_t rows, int64_t K, const float* x, const uint16_t* w, int64_t n0, int64_t n1, float* y,
                          int64_t ldy);

// ---- AVX-512 ----

// GCC 12 flags the self-initialised _mm512_undefined_* inside the conversion intrinsics.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

template <DType D>
VLV_TARGET_AVX512 inline __m512 widen16(__m256i h) {
  if constexpr (D == DType::BF16) return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  else return _mm512_cvtph_ps(h);
}

// y[m * ldy + n] (m < M) = x row m . w row n; rows of x and w are K long.
template <DType D, int M>
VLV_TARGET_AVX512 void tile_avx512(int64_t K, const float* x, const uint16_t* w, int64_t n, float* y, int64_t ldy) {
  __m512 acc[M];
  for (int m = 0; m < M; ++m) acc[m] = _mm512_setzero_ps();
  const uint16_t* wr = w + n * K;
  const int64_t kv = K / 16 * 16;
  for (int64_t k = 0; k < kv; k += 16) {
    const __m512 wv = widen16<D>(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr + k)));
    for (int m = 0; m < M; ++m) acc[m] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + m * K + k), acc[m]);
  }
  if (kv < K) {
    const __mmask16 tail = __mmask16((1u << (K - kv)) - 1);
    const __m512 wv = widen16<D>(_mm256_maskz_loadu_epi16(tail, wr + kv));
    for (int m = 0; m < M; ++m) acc[m] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(tail, x + m * K + kv), acc[m]);
  }
  for (int m = 0; m < M; ++m) y[m * ldy + n] = _mm512_reduce_add_ps(acc[m]);
}

#pragma GCC diagnostic pop

// ---- AVX2 ----

VLV_TARGET_AVX2 inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

template <DType D>
VLV_TARGET_AVX2 inline __m256 widen8(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if constexpr (D == DType::BF16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  else return _mm256_cvtph_ps(h);
}

template <DType D>
inline float widen1(uint16_t v) {
  if constexpr (D == DType::BF16) return bf16_to_f32(v);
  else return f16_to_f32(v);
}

template <DType D, int M>
VLV_TARGET_AVX2 void tile_avx2(int64_t K, const float* x, const uint16_t* w, int64_t n, float* y, int64_t ldy) {
  __m256 acc[M];
  for (int m = 0; m < M; ++m) acc[m] = _mm256_setzero_ps();
  const uint16_t* wr = w + n * K;
  const int64_t kv = K / 8 * 8;
  for (int64_t k = 0; k < kv; k += 8) {
    const __m256 wv = widen8<D>(wr + k);
    for (int m = 0; m < M; ++m) acc[m] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + m * K + k), acc[m]);
  }
  for (int m = 0; m < M; ++m) {
    float s = hsum8(acc[m]);
    for (int64_t k = kv; k < K; ++k) s += widen1<D>(wr[k]) * x[m * K + k];
    y[m * ldy + n] = s;
  }
}

// ---- scalar reference ----

template <DType D, int M>
void tile_scalar(int64_t K, const float* x, const uint16_t* w, int64_t n, float* y, int64_t ldy) {
  for (int m = 0; m < M; ++m) {
    float s = 0.f;
    for (int64_t k = 0; k < K; ++k) s += widen1<D>(w[n * K + k]) * x[m * K + k];
    y[m * ldy + n] = s;
  }
}

// ---- driver: weight rows in order, each against every group of 4 input rows ----

// The tiles of one SIMD level as a type, so one driver serves them all.
#define VLV_W16_LEVEL(Name, tile)                                                                                      \
  struct Name {                                                                                                        \
    template <DType D, int M>                                                                                          \
    static void run(int64_t K, const float* x, const uint16_t* w, int64_t n, float* y, int64_t ldy) {                  \
      tile<D, M>(K, x, w, n, y, ldy);                                                                                  \
    }                                                                                                                  \
  };
VLV_W16_LEVEL(Avx512, tile_avx512)
VLV_W16_LEVEL(Avx2, tile_avx2)
VLV_W16_LEVEL(Scalar, tile_scalar)
#undef VLV_W16_LEVEL

template <class L, DType D>
void direct(int64_t rows, int64_t K, const float* x, const uint16_t* w, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t m = 0; m < rows; m += 4) {
      const float* xm = x + m * K;
      float* ym = y + m * ldy;
      switch (std::min<int64_t>(4, rows - m)) {
        case 1: L::template run<D, 1>(K, xm, w, n, ym, ldy); break;
        case 2: L::template run<D, 2>(K, xm, w, n, ym, ldy); break;
        case 3: L::template run<D, 3>(K, xm, w, n, ym, ldy); break;
        default: L::template run<D, 4>(K, xm, w, n, ym, ldy); break;
      }
    }
}

template <DType D>
DirectFn direct_for_level() {
  switch (simd_level()) {
    case SimdLevel::AVX512: return direct<Avx512, D>;
    case SimdLevel::AVX2: return direct<Avx2, D>;
    default: return direct<Scalar, D>;
  }
}

DirectFn direct_kernel(DType dt) {
  return dt == DType::BF16 ? direct_for_level<DType::BF16>() : direct_for_level<DType::F16>();
}

// ---- upcast ----

template <DType D>
VLV_TARGET_AVX2 void upcast_avx2(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, widen8<D>(src + i));
  for (; i < n; ++i) dst[i] = widen1<D>(src[i]);
}

template <DType D>
void upcast_scalar(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = widen1<D>(src[i]);
}

void upcast_serial(DType dt, const uint16_t* src, float* dst, int64_t n) {
  const bool simd = simd_level() != SimdLevel::Scalar;
  if (dt == DType::BF16) simd ? upcast_avx2<DType::BF16>(src, dst, n) : upcast_scalar<DType::BF16>(src, dst, n);
  else simd ? upcast_avx2<DType::F16>(src, dst, n) : upcast_scalar<DType::F16>(src, dst, n);
}

// Weight rows per upcast block: about 4 MiB of f32, a multiple of 64 rows.
int64_t block_rows(int64_t out, int64_t in) {
  return std::min(out, std::max<int64_t>(64, (int64_t(1) << 20) / std::max<int64_t>(in, 1) / 64 * 64));
}

// Rows [n0, n0 + nr) of w as f32 into buf.
void upcast_rows(const Tensor& w, int64_t n0, int64_t nr, std::vector<float>& buf) {
  const int64_t in = w.size(1);
  buf.resize(size_t(nr * in));
  const uint16_t* src = static_cast<const uint16_t*>(w.raw()) + n0 * in;
  parallel_for(nr * in, 65536, [&](int64_t b, int64_t e) { upcast_serial(w.dtype(), src + b, buf.data() + b, e - b); });
}

}  // namespace

void upcast_w16(DType dt, const uint16_t* src, float* dst, int64_t n) { upcast_serial(dt, src, dst, n); }

void linear_w16(int64_t rows, const float* x, const Tensor& w, float* y) {
  const int64_t out = w.size(0), in = w.size(1);
  if (rows <= 0 || out <= 0) return;
  if (in == 0) return std::fill(y, y + rows * out, 0.f);
  if (rows <= kDirectRows) {
    const DirectFn fn = direct_kernel(w.dtype());
    const uint16_t* wp = static_cast<const uint16_t*>(w.raw());
    // Pieces of about 64K weights or more, handed out from a counter: on a shared machine a
    // thread whose core is busy takes fewer (any cut gives the same values).
    const int64_t pieces = std::clamp<int64_t>(out * in / 65536, 1, 8 * int64_t(num_threads()));
    std::atomic<int64_t> next{0};
    parallel_for(std::min<int64_t>(pieces, num_threads()), 1, [&](int64_t, int64_t) {
      for (int64_t p; (p = next.fetch_add(1)) < pieces;)
        fn(rows, in, x, wp, out * p / pieces, out * (p + 1) / pieces, y, out);
    });
    return;
  }
  std::vector<float> buf;
  for (int64_t n0 = 0, nb = block_rows(out, in); n0 < out; n0 += nb) {
    const int64_t nr = std::min(nb, out - n0);
    upcast_rows(w, n0, nr, buf);
    gemm_f32(false, true, rows, nr, in, 1.f, x, in, buf.data(), in, 0.f, y + n0, out);
  }
}

void linear_w16_dx(int64_t rows, const float* gy, const Tensor& w, float* dx) {
  const int64_t out = w.size(0), in = w.size(1);
  if (rows <= 0 || in <= 0) return;
  if (out == 0) return std::fill(dx, dx + rows * in, 0.f);
  std::vector<float> buf;
  for (int64_t n0 = 0, nb = block_rows(out, in); n0 < out; n0 += nb) {
    const int64_t nr = std::min(nb, out - n0);
    upcast_rows(w, n0, nr, buf);
    gemm_f32(false, false, rows, in, nr, 1.f, gy + n0, out, buf.data(), in, n0 == 0 ? 0.f : 1.f, dx, in);
  }
}

}  // namespace vlv::cpu
