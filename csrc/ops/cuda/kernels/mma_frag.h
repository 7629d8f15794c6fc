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
// Used on the device (attention_tiled.cu; the GEMM and conv kernels through mma.cuh) and by
// the host emulations of mma.sync in csrc/cuda/test/.
#pragma once
#include "ops/cuda/kernels/hd.h"

namespace vlv::cuda::frag {

VLV_HD int group(int lane) { return lane >> 2; }
VLV_HD int tig(int lane) { return lane & 3; }

// A, 16x16 row-major, element e in [0, 8).
VLV_HD int a_row(int lane, int e) { return group(lane) + 8 * ((e >> 1) & 1); }
VLV_HD int a_col(int lane, int e) { return tig(lane) * 2 + (e & 1) + 8 * (e >> 2); }
// B, 16x8 (k x n) column-major, element e in [0, 4).
VLV_HD int b_row(int lane, int e) { return tig(lane) * 2 + (e & 1) + 8 * (e >> 1); }
VLV_HD int b_col(int lane, int /*e*/) { return group(lane); }
// C / D, 16x8 f32, element e in [0, 4).
VLV_HD int c_row(int lane, int e) { return group(lane) + 8 * (e >> 1); }
VLV_HD int c_col(int lane, int e) { return tig(lane) * 2 + (e & 1); }

}  // namespace vlv::cuda::frag

namespace vlv::cuda {

// The same maps per 32-bit register r (two 16-bit elements 2r, 2r+1 of A and B; one f32
// element of C), as the GEMM and conv tile loops index them.
VLV_HD int frag_a_row(int lane, int r) { return frag::a_row(lane, 2 * r); }
VLV_HD int frag_a_col(int lane, int r) { return frag::a_col(lane, 2 * r); }
VLV_HD int frag_b_k(int lane, int r) { return frag::b_row(lane, 2 * r); }
VLV_HD int frag_b_n(int lane) { return frag::b_col(lane, 0); }
VLV_HD int frag_c_row(int lane, int r) { return frag::c_row(lane, r); }
VLV_HD int frag_c_col(int lane, int r) { return frag::c_col(lane, r); }

}  // namespace vlv::cuda
