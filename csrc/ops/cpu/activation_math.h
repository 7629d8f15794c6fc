// Scalar activation functions and their derivatives, exactly PyTorch's formulas:
//   gelu        x * 0.5 * (1 + erf(x / sqrt(2)))
//   gelu_tanh   0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
//   silu        x * sigmoid(x)
//   quick_gelu  x * sigmoid(1.702 x)
// Shared by linear's fused epilogue (gemm.cc) and the standalone activation ops.
#pragma once
#include <cmath>
#include <string>

#include "core/error.h"

namespace vlv::cpu::act {

constexpr float kSqrt1_2 = 0.70710678118654752f;     // 1 / sqrt(2)
constexpr float kInvSqrt2Pi = 0.39894228040143268f;  // 1 / sqrt(2 pi)
constexpr float kSqrt2_Pi = 0.79788456080286536f;    // sqrt(2 / pi)
constexpr float kGeluTanhC = 0.044715f;
constexpr float kQuickGeluC = 1.702f;

inline float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

// 1 + erf(x/sqrt2) written as erfc(-x/sqrt2): accurate in the negative tail too.
inline float gelu(float x) { return 0.5f * x * std::erfc(-x * kSqrt1_2); }
inline float gelu_grad(float x) { return 0.5f * std::erfc(-x * kSqrt1_2) + x * kInvSqrt2Pi * std::exp(-0.5f * x * x); }

// 0.5 * (1 + tanh(u)) == sigmoid(2u): one exp instead of tanh (3x cheaper in glibc, same value
// to rounding), saturating correctly for large |u|.
inline float gelu_tanh(float x) { return x * sigmoid(2.f * kSqrt2_Pi * (x + kGeluTanhC * x * x * x)); }
inline float gelu_tanh_grad(float x) {
  const float s = sigmoid(2.f * kSqrt2_Pi * (x + kGeluTanhC * x * x * x));  // (1 + tanh(u)) / 2
  return s + 2.f * x * s * (1.f - s) * kSqrt2_Pi * (1.f + 3.f * kGeluTanhC * x * x);
}

inline float silu(float x) { return x * sigmoid(x); }
inline float silu_grad(float x) {
  const float s = sigmoid(x);
  return s * (1.f + x * (1.f - s));
}

inline float quick_gelu(float x) { return x * sigmoid(kQuickGeluC * x); }
inline float quick_gelu_grad(float x) {
  const float s = sigmoid(kQuickGeluC * x);
  return s + kQuickGeluC * x * s * (1.f - s);
}

// The activation names ops take (linear's `activation` attribute).
enum class Activation { None, Gelu, GeluTanh, Silu, QuickGelu };

inline Activation parse_activation(const std::string& name, const char* op) {
  if (name == "none") return Activation::None;
  if (name == "gelu") return Activation::Gelu;
  if (name == "gelu_tanh") return Activation::GeluTanh;
  if (name == "silu") return Activation::Silu;
  if (name == "quick_gelu") return Activation::QuickGelu;
  fail(ErrorCode::Arg, op, ": unknown activation '", name, "' (expected none, gelu, gelu_tanh, silu or quick_gelu)");
}

inline float apply(Activation a, float x) {
  switch (a) {
    case Activation::Gelu: return gelu(x);
    case Activation::GeluTanh: return gelu_tanh(x);
    case Activation::Silu: return silu(x);
    case Activation::QuickGelu: return quick_gelu(x);
    case Activation::None: break;
  }
  return x;
}

inline float grad(Activation a, float x) {
  switch (a) {
    case Activation::Gelu: return gelu_grad(x);
    case Activation::GeluTanh: return gelu_tanh_grad(x);
    case Activation::Silu: return silu_grad(x);
    case Activation::QuickGelu: return quick_gelu_grad(x);
    case Activation::None: break;
  }
  return 1.f;
}

}  // namespace vlv::cpu::act
