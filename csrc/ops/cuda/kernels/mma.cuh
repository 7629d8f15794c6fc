// The tensor-core primitive of the own GEMM (gemm_mma.cu) and the implicit-GEMM conv
// (conv_igemm.cu): one mma.sync.m16n8k16 with f32 accumulators, bf16 or f16 operands, and a
// warp's k step over a 64x32 tile (fragment layouts: mma_frag.h). Device code only; not run on a GPU yet.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "ops/cuda/kernels/mma_frag.h"

namespace vlv::cuda {

// One m16n8k16 MMA, D = A B + D, f32 accumulators (T: __nv_bfloat16 or __half).
template <class T>
__device__ __forceinline__ void mma16816(float* d, const uint32_t* a, const uint32_t* b) {
  if constexpr (std::is_same<T, __nv_bfloat16>::value)
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  else
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// The two adjacent 16-bit elements at p as one 32-bit fragment register.
template <class T>
__device__ __forceinline__ uint32_t pair(const T* p) {
  return *reinterpret_cast<const uint32_t*>(p);
}

// One 16-deep k step of a warp's 64x32 tile, the 128x128x32 block tiles of the own GEMM and
// the implicit-GEMM conv: acc[i][j] (m16 tile i, n8 tile j) += As[wm + 16i.., kk..kk+16] @
// Bs[wn + 8j.., kk..kk+16]^T; As is [m][k], Bs [n][k] in shared memory (row stride LD).
template <class T, int LD>
__device__ __forceinline__ void warp_mma_64x32(const T (*As)[LD], const T (*Bs)[LD], int wm, int wn, int kk, int lane,
                                               float (*acc)[4][4]) {
  uint32_t af[4][4], bf[4][2];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int r = 0; r < 4; ++r) af[i][r] = pair(&As[wm + i * 16 + frag_a_row(lane, r)][kk + frag_a_col(lane, r)]);
#pragma unroll
  for (int j = 0; j < 4; ++j)
#pragma unroll
    for (int r = 0; r < 2; ++r) bf[j][r] = pair(&Bs[wn + j * 8 + frag_b_n(lane)][kk + frag_b_k(lane, r)]);
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) mma16816<T>(acc[i][j], af[i], bf[j]);
}

// A 128x128 block tile's main loop over K, 32 deep per slice: load(k0) stages As / Bs
// (its own barriers inside as it needs), then every warp takes its two 16-deep steps.
template <class T, int LD, class Load>
__device__ __forceinline__ void block_mma_loop(int64_t k, Load&& load, const T (*As)[LD], const T (*Bs)[LD], int wm,
                                               int wn, int lane, float (*acc)[4][4]) {
  for (int64_t k0 = 0; k0 < k; k0 += 32) {
    load(k0);
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < 32; kk += 16) warp_mma_64x32<T, LD>(As, Bs, wm, wn, kk, lane, acc);
    __syncthreads();
  }
}

}  // namespace vlv::cuda
