// GEMM pieces shared by gemm.cu (backend choice, cuBLAS) and gemm_mma.cu (own kernels).
#pragma once
#include "cuda/abi.h"

namespace vlv::cuda {
int gemm_own(const VlvCudaGemm& g);       // the whole GEMM with its fused epilogue
int gemm_epilogue(const VlvCudaGemm& g);  // bias / pre_act / activation over C in place
}  // namespace vlv::cuda
