// The tensor-core attention path (attention_tiled.cu), chosen by attention.cu.
#pragma once
#include "cuda/abi.h"

namespace vlv::cuda {

// Whether the tiled kernels take this call: bf16 / f16, d == dv in {64, 80, 128}, every
// pointer 16-byte aligned, grid dimensions in range, and VLV_ATTENTION is not "rows" (read
// at each call, so a process can compare both paths).
bool attention_tiled_eligible(const VlvCudaAttention* a, const void* const* ptrs, int n);
int attention_tiled_forward(const VlvCudaAttention* a, void* out, float* lse);
// di: rowsum(dO * O) per query row, f32 (attention.cu computes it).
int attention_tiled_backward(const VlvCudaAttention* a, const float* lse, const float* di, const void* gout, void* gq,
                             void* gk, void* gv);

}  // namespace vlv::cuda
