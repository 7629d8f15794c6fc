// The CPU GEMM every kernel shares (matmul, linear, conv2d's im2col, attention tiles).
#pragma once
#include <cstdint>

namespace vlv::cpu {

// C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C, row-major, with leading dimensions.
// op(A) = A^T when trans_a (A stored [K,M]); likewise B. beta == 0 ignores C's old values
// (NaN included). parallel = false keeps it on the calling thread (for callers that already
// split their work over the pool).
void gemm_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc, bool parallel = true);

}  // namespace vlv::cpu
