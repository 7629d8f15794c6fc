// Activation functions and their derivatives on the device: the same formulas as the CPU's
// csrc/ops/cpu/activation_math.h (gelu erf form, gelu tanh form as x * sigmoid(2u),
// quick_gelu = x * sigmoid(1.702 x), silu), and the ABI's activation codes.
#pragma once
#include "cuda/abi.h"

namespace vlv::cuda::act {

constexpr float kSqrt1_2 = 0.70710678118654752f, kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kSqrt2_Pi = 0.79788456080286536f, kGeluTanhC = 0.044715f, kQuickGeluC = 1.702f;

__device__ __forceinline__ float sigmoid(float x) { return 1.f / (1.f + expf(-x)); }

__device__ __forceinline__ float apply(int a, float x) {
  switch (a) {
    case VLV_CUDA_ACT_GELU: return 0.5f * x * (1.f + erff(x * kSqrt1_2));
    case VLV_CUDA_ACT_GELU_TANH: return x * sigmoid(2.f * kSqrt2_Pi * (x + kGeluTanhC * x * x * x));
    case VLV_CUDA_ACT_SILU: return x * sigmoid(x);
    case VLV_CUDA_ACT_QUICK_GELU: return x * sigmoid(kQuickGeluC * x);
    default: return x;
  }
}

// d apply(a, x) / dx
__device__ __forceinline__ float grad(int a, float x) {
  switch (a) {
    case VLV_CUDA_ACT_GELU: return 0.5f * (1.f + erff(x * kSqrt1_2)) + x * kInvSqrt2Pi * expf(-0.5f * x * x);
    case VLV_CUDA_ACT_GELU_TANH: {
      float s = sigmoid(2.f * kSqrt2_Pi * (x + kGeluTanhC * x * x * x));
      return s + 2.f * x * s * (1.f - s) * kSqrt2_Pi * (1.f + 3.f * kGeluTanhC * x * x);
    }
    case VLV_CUDA_ACT_SILU: {
      float s = sigmoid(x);
      return s * (1.f + x * (1.f - s));
    }
    case VLV_CUDA_ACT_QUICK_GELU: {
      float s = sigmoid(kQuickGeluC * x);
      return s + kQuickGeluC * x * s * (1.f - s);
    }
    default: return 1.f;
  }
}

}  // namespace vlv::cuda::act
