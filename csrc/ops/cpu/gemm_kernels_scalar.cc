// Scalar GEMM micro-kernel (the reference path, VLV_SIMD=scalar): a 4 x 8 tile of C in
// plain C++, the same packed panels and edge rules as the SIMD kernels.
#include "ops/cpu/gemm_kernels.h"
#include "ops/cpu/gemm_pack.h"

namespace vlv::cpu::gemm {

namespace {

constexpr int kMR = 4, kNR = 8;

void kernel_4x8(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n, float alpha,
                float beta) {
  float acc[kMR][kNR] = {};
  for (int64_t k = 0; k < kc; ++k, a += kMR, b += kNR)
    for (int i = 0; i < kMR; ++i)
      for (int j = 0; j < kNR; ++j) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float* p = c + i * ldc + j;
      *p = beta == 0.f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *p;
    }
}

}  // namespace

KernelSpec kernel_scalar() {
  return {kernel_4x8, pack_panels<kMR>, pack_panels<kNR>, kMR, kNR, 256, 256, 512, "scalar 4x8"};
}

}  // namespace vlv::cpu::gemm
