// Qwen2MLP (transformers): down_proj(silu(gate_proj(x)) * up_proj(x)), no biases.
// Keys under the module's path: gate_proj, up_proj, down_proj.
#pragma once
#include "models/layers.h"
#include "models/qwen2_config.h"

namespace vlv::models {

struct Qwen2MLP {
  Linear gate_proj, up_proj, down_proj;
  static Qwen2MLP load(const WeightBuilder& vb, const Qwen2Config& c);
  Tensor operator()(const Tensor& x) const { return down_proj(ops::swiglu(gate_proj(x), up_proj(x))); }
};

}  // namespace vlv::models
