// Which lane holds which element of the fragments of mma.sync.aligned.m16n8k16 with
// .bf16 / .f16 multiplicands and .f32 accumulators (PTX ISA, "Matrix Fragments for
// mma.m16n8k16 with floating point type", figures of the A, B and C/D layouts):
//   groupID = lane >> 2, threadID_in_group = lane % 4
//   A (16x16, .row): 8 elements a0..a7 in four .b32 registers (a2r low half, a2r+1 high)
//     row = groupID (+8 for a2, a3, a6, a7); col = threadID_in_group*2 + (i & 1) (+8 for i >= 4)
//   B (16x8, .col):  4 elements b0..b3 in two .b32 registers
//     row (k) = threadID_in_group*2 + (i & 1) (+8 for i >= 2); col (n) = groupID
//   C, D (16x8, f32): 4 elements c0..c3
//     row = groupID (+8 for c2, c3); col = threadID_in_group*2 + (i & 1)
// Consequences the attention kernels rely on (and the host test checks):
//   * the two elements of one register are neighbours along k (A, B) or n (C), so a
//     register is one 32-bit load from a row-major tile whose k (or n) is contiguous;
//   * the C fragments of n-tiles 2t and 2t+1 hold, element for element, the A fragment of
//     k-step t of the same rows (c0 c1 | c2 c3 of tile 2t, then of 2t+1 = a0 a1 | a2 a3 | a4
//     a5 | a6 a7): a score tile becomes the A operand of the next product in registers.
// Used on the device (attention_tiled.cu) and by the host emulation of mma.sync in
// csrc/cuda/test/attention_tiles_host_test.cc.
#pragma once

#if defined(__CUDACC__)
#define VLV_FRAG_HD __host__ __device__ __forceinline__
#else
#define VLV_FRAG_HD inline
#endif

namespace vlv::cuda::frag {

VLV_FRAG_HD int group(int lane) { return lane >> 2; }
VLV_FRAG_HD int tig(int lane) { return lane & 3; }

// A, 16x16 row-major, element e in [0, 8).
VLV_FRAG_HD int a_row(int lane, int e) { return group(lane) + 8 * ((e >> 1) & 1); }
VLV_FRAG_HD int a_col(int lane, int e) { return tig(lane) * 2 + (e & 1) + 8 * (e >> 2); }
// B, 16x8 (k x n) column-major, element e in [0, 4).
VLV_FRAG_HD int b_row(int lane, int e) { return tig(lane) * 2 + (e & 1) + 8 * (e >> 1); }
VLV_FRAG_HD int b_col(int lane, int /*e*/) { return group(lane); }
// C / D, 16x8 f32, element e in [0, 4).
VLV_FRAG_HD int c_row(int lane, int e) { return group(lane) + 8 * (e >> 1); }
VLV_FRAG_HD int c_col(int lane, int e) { return tig(lane) * 2 + (e & 1); }

}  // namespace vlv::cuda::frag

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

namespace vlv::cuda {
// One m16n8k16 MMA, d = a b + d, f32 accumulators (T: __nv_bfloat16 or __half); the
// fragments as above. Device code only (the GEMM and attention kernels).
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
}  // namespace vlv::cuda
#endif
