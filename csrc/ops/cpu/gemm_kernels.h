// The micro-kernels behind gemm_f32 (gemm_f32.cc) and the panel layout they read.
//
// A micro-kernel computes one MR x NR tile of row-major C from two packed panels:
//   a: MR values per k ([kc][MR], rows of op(A), zero-padded past the edge),
//   b: NR values per k ([kc][NR], columns of op(B), zero-padded past the edge),
//   C[i][j] = alpha * sum_k a[k][i] * b[k][j] + beta * C[i][j]   for i < m, j < n,
// where beta == 0 never reads C (NaN in C is ignored). Each C element accumulates its
// k terms in order in one lane, so a value does not depend on where its tile starts
// (results are the same for any split of C over threads).
#pragma once
#include <cstdint>

namespace vlv::cpu::gemm {

using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n,
                             float alpha, float beta);
// pack_panels<MR> / pack_panels<NR> (gemm_pack.h) for the kernel's tile.
using PackFn = void (*)(const float* src, int64_t ld, bool k_major, int64_t rows, int64_t kc, float* dst);

// A kernel and the blocking it is tuned for: kc values of K per packed panel, mc rows of
// op(A) packed at once (kept in L3 / L2), nc columns of op(B) packed at once (kept in L2).
struct KernelSpec {
  MicroKernel fn;
  PackFn pack_a, pack_b;
  int mr, nr;
  int64_t kc, mc, nc;
  const char* name;
};

KernelSpec kernel_avx512();  // 12 x 32 tile, 24 zmm accumulators
KernelSpec kernel_avx2();    // 6 x 16 tile, 12 ymm accumulators
KernelSpec kernel_scalar();  // 4 x 8 tile, plain C++

// y[n0:n1] of a matrix-vector product (gemm_gemv.cc): dot form y[n] = alpha * x . w[n*ldw :]
// + beta * y[n]; axpy form y[n] = alpha * sum_k x[k] * w[k * ldw + n] + beta * y[n]. x has K
// values; beta == 0 never reads y.
using GemvFn = void (*)(int64_t K, int64_t n0, int64_t n1, float alpha, const float* x, const float* w, int64_t ldw,
                        float beta, float* y);
GemvFn gemv_kernel(bool dot_form);

}  // namespace vlv::cpu::gemm
