// Products of f32 activations with 16-bit (bf16 / f16) weight matrices that stay 16-bit in
// memory: the linear op's path for a model loaded with 16-bit weights (gemm_w16.cc).
// Every weight value is upcast exactly to f32 and all arithmetic is f32, so the result is
// the f32 product with the weight's 16-bit values.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace vlv::cpu {

inline bool is_w16(DType dt) { return dt == DType::BF16 || dt == DType::F16; }

// y[rows, out] = x[rows, in] @ w[out, in]^T, w bf16 or f16 (contiguous).
void linear_w16(int64_t rows, const float* x, const Tensor& w, float* y);

// dx[rows, in] = gy[rows, out] @ w[out, in] (the input gradient of linear_w16).
void linear_w16_dx(int64_t rows, const float* gy, const Tensor& w, float* dx);

// dst[i] = f32(src[i]) for i < n, src bf16 or f16 bit patterns.
void upcast_w16(DType dt, const uint16_t* src, float* dst, int64_t n);

}  // namespace vlv::cpu
