#include "models/qwen2_mlp.h"

namespace vlv::models {

Qwen2MLP Qwen2MLP::load(const WeightBuilder& vb, const Qwen2Config& c) {
  Qwen2MLP m;
  m.gate_proj = Linear::load(vb.at("gate_proj"), c.hidden_size, c.intermediate_size, /*has_bias=*/false);
  m.up_proj = Linear::load(vb.at("up_proj"), c.hidden_size, c.intermediate_size, false);
  m.down_proj = Linear::load(vb.at("down_proj"), c.intermediate_size, c.hidden_size, false);
  return m;
}

}  // namespace vlv::models
