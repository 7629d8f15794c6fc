// The small building blocks models share, named as in PyTorch: Linear, LayerNorm, RMSNorm, and the
// head split/merge around the fused attention op.
#pragma once
#include <string>

#include "models/model.h"
#include "ops/api.h"

namespace vlv::models {

struct Linear {
  Tensor weight, bias;  // weight [out, in] (take_matrix: f32 or 16-bit); bias [out] or undefined
  // vb: the layer's own path ("weight", "bias" under it).
  static Linear load(const WeightBuilder& vb, int64_t in, int64_t out, bool has_bias = true);
  Tensor operator()(const Tensor& x, const std::string& activation = "none") const {
    return ops::linear(x, weight, bias, activation);
  }
};

struct LayerNorm {
  Tensor weight, bias;
  double eps = 1e-5;
  static LayerNorm load(const WeightBuilder& vb, int64_t dim, double eps);
  Tensor operator()(const Tensor& x) const { return ops::layer_norm(x, weight, bias, eps); }
};

// RMSNorm without bias (LlamaRMSNorm / Qwen2RMSNorm): x / rms(x) * weight.
struct RMSNorm {
  Tensor weight;
  double eps = 1e-6;
  static RMSNorm load(const WeightBuilder& vb, int64_t dim, double eps);
  Tensor operator()(const Tensor& x) const { return ops::rms_norm(x, weight, eps); }
};

// [B, L, H*D] -> [B, H, L, D] and back.
Tensor split_heads(const Tensor& x, int64_t heads);
Tensor merge_heads(const Tensor& x);

// The activation names of config.json ("gelu", "quick_gelu", "gelu_new", "silu", ...) as the
// linear op's fused activation; E_ARG for others.
std::string fused_activation(const std::string& hidden_act, const std::string& source);

}  // namespace vlv::models
