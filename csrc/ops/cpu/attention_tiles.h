// The small per-tile kernels of the fused CPU attention (attention.cc): a register-blocked
// tile product and the row max / exp passes of the online softmax, in scalar, AVX2 and
// AVX-512 versions chosen once per call with tile_ops(simd_level()).
#pragma once
#include <cstdint>

#include "core/cpu_features.h"

namespace vlv::cpu {

struct TileOps {
  // C[M,N] = (accumulate ? C : 0) + A[M,K] @ B[K,N]. A is read as A[m * a_rs + k * a_cs]
  // (a_rs = 1 reads a transposed tile in place); B and C are row-major with ldb / ldc.
  void (*gemm)(int64_t M, int64_t N, int64_t K, const float* A, int64_t a_rs, int64_t a_cs, const float* B, int64_t ldb,
               float* C, int64_t ldc, bool accumulate);
  // max(x[0..n)), -inf for n == 0.
  float (*row_max)(const float* x, int64_t n);
  // x[j] = exp(x[j] - sub) in place (exp(-inf) = 0); returns the sum of the new values.
  float (*exp_sum)(float* x, int64_t n, float sub);
};

const TileOps& tile_ops(SimdLevel level);

}  // namespace vlv::cpu
