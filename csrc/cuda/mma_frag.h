// The register layouts of mma.sync.m16n8k16 (PTX ISA), host and device: the tensor-core
// kernels (mma.cuh) read their fragments through these maps and the host test
// (csrc/cuda/test/kernels_host_test.cc) emulates the instruction through the same maps.
#pragma once
#include "cuda/hd.h"


namespace vlv::cuda {

// mma.sync.m16n8k16 fragment maps (PTX ISA), lane = 4*gid + tig. Register r of A holds the
// pair (row, col), (row, col+1) of the 16x16 A tile; of B the pair (k, n), (k+1, n) of the
// 16x8 B tile; accumulator r the single element (row, col) of the 16x8 C tile.
VLV_HD int frag_a_row(int lane, int r) { return lane / 4 + (r & 1) * 8; }
VLV_HD int frag_a_col(int lane, int r) { return lane % 4 * 2 + (r >> 1) * 8; }
VLV_HD int frag_b_k(int lane, int r) { return lane % 4 * 2 + r * 8; }
VLV_HD int frag_b_n(int lane) { return lane / 4; }
VLV_HD int frag_c_row(int lane, int r) { return lane / 4 + (r >> 1) * 8; }
VLV_HD int frag_c_col(int lane, int r) { return lane % 4 * 2 + (r & 1); }

}  // namespace vlv::cuda
