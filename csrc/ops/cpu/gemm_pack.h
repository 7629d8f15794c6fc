// Panel packing for gemm_f32: copies a block of op(A) or op(B) into the layout the
// micro-kernels read (gemm_kernels.h), W values per k, zero-padding a last partial panel.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

namespace vlv::cpu::gemm {

// Element (r, k), r < rows, k < kc, of the source block is src[r + k * ld] when k_major
// (the W values of one k are contiguous: op(B) not transposed, op(A) transposed) and
// src[r * ld + k] otherwise. Writes dst[(r / W) * W * kc + k * W + r % W].
template <int W>
void pack_panels(const float* src, int64_t ld, bool k_major, int64_t rows, int64_t kc, float* dst) {
  if (k_major) {
    // One source row (k) at a time, across all panels: reads stay sequential.
    const int64_t full = rows / W, w = rows - full * W;
    for (int64_t k = 0; k < kc; ++k) {
      const float* s = src + k * ld;
      float* d = dst + k * W;
      for (int64_t p = 0; p < full; ++p) std::memcpy(d + p * W * kc, s + p * W, W * sizeof(float));
      if (w) {
        std::memcpy(d + full * W * kc, s + full * W, size_t(w) * sizeof(float));
        std::memset(d + full * W * kc + w, 0, size_t(W - w) * sizeof(float));
      }
    }
    return;
  }
  // Rows are ld apart (often a multiple of 4 KiB: reading W of them at once would thrash one
  // L1 set), so copy a row's run of kb values at a time into a dst block that stays in L1.
  constexpr int64_t kb = 64;
  for (int64_t r0 = 0; r0 < rows; r0 += W, dst += W * kc) {
    const int64_t w = std::min<int64_t>(W, rows - r0);
    const float* s = src + r0 * ld;
    for (int64_t k0 = 0; k0 < kc; k0 += kb) {
      const int64_t k1 = std::min(kc, k0 + kb);
      for (int64_t r = 0; r < W; ++r) {
        float* d = dst + r;
        const float* sr = s + r * ld;
        for (int64_t k = k0; k < k1; ++k) d[k * W] = r < w ? sr[k] : 0.f;
      }
    }
  }
}

}  // namespace vlv::cpu::gemm
