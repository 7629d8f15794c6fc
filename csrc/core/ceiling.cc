// Peak FMA: independent accumulator chains (enough to cover FMA latency x ports) in
// registers, so the loop is bound by FMA issue alone. Copy bandwidth: memcpy of buffers far
// larger than the caches. Each is timed for a fixed wall time and the best of 3 is kept.
#include "core/ceiling.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace vlv {

namespace {

using Clock = std::chrono::steady_clock;

VLV_TARGET_AVX512 double fma_loop_avx512(int64_t iters) {
  __m512 a[12], b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-3f);
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(float(i));
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], b, c);
  alignas(64) float lane[16];
  volatile float sink = 0;  // keeps the chains live
  for (int i = 0; i < 12; ++i) {
    _mm512_store_ps(lane, a[i]);
    sink = sink + lane[0];
  }
  return double(iters) * 12 * 16 * 2;
}

VLV_TARGET_AVX2 double fma_loop_avx2(int64_t iters) {
  __m256 a[12], b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-3f);
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(float(i));
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], b, c);
  volatile float sink = 0;
  for (int i = 0; i < 12; ++i) sink = sink + _mm256_cvtss_f32(a[i]);
  return double(iters) * 12 * 8 * 2;
}

double fma_loop_scalar(int64_t iters) {
  float a[8], b = 0.999f, c = 1e-3f;
  for (int i = 0; i < 8; ++i) a[i] = float(i);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 8; ++i) a[i] = a[i] * b + c;
  volatile float sink = a[0] + a[7];
  (void)sink;
  return double(iters) * 8 * 2;
}

double fma_flops(int64_t iters) {
  switch (simd_level()) {
    case SimdLevel::AVX512: return fma_loop_avx512(iters);
    case SimdLevel::AVX2: return fma_loop_avx2(iters);
    default: return fma_loop_scalar(iters);
  }
}

// GFLOP/s of `threads` workers each running FMA chunks until `seconds` pass.
double measure_fma(int threads, double seconds) {
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    std::atomic<double> flops{0};
    auto t0 = Clock::now();
    auto work = [&](int64_t b, int64_t e) {
      double mine = 0;
      for (int64_t w = b; w < e; ++w)
        while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds) mine += fma_flops(1 << 16);
      double cur = flops.load();
      while (!flops.compare_exchange_weak(cur, cur + mine)) {
      }
    };
    if (threads > 1) parallel_for(threads, 1, work);
    else work(0, 1);
    double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, flops.load() / dt / 1e9);
  }
  return best;
}

double measure_copy(double seconds) {
  const size_t bytes = size_t(64) << 20;  // 64 MiB each way per run, far past the caches
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    int64_t copies = 0;
    auto t0 = Clock::now();
    double dt = 0;
    while (dt < seconds) {
      parallel_for(int64_t(bytes >> 20), 1, [&](int64_t b, int64_t e) {
        std::memcpy(dst.data() + (b << 20), src.data() + (b << 20), size_t(e - b) << 20);
      });
      ++copies;
      dt = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    best = std::max(best, double(copies) * 2 * double(bytes) / dt / 1e9);
  }
  return best;
}

}  // namespace

Ceilings measure_ceilings(double seconds_each) {
  Ceilings c{};
  c.fma_gflops = measure_fma(num_threads(), seconds_each);
  c.fma_gflops_1t = measure_fma(1, seconds_each);
  c.copy_gbps = measure_copy(seconds_each);
  return c;
}

}  // namespace vlv
