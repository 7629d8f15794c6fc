// diffusers Attention as the VAE's mid block uses it (AttnProcessor on a 4-D input):
// tokens = group_norm(x) flattened to [N, H*W, C]; q/k/v = to_q/to_k/to_v(tokens);
// softmax attention with `heads` heads of C/heads channels (scale 1/sqrt(C/heads));
// out = to_out.0(...) back to [N, C, H, W]; (out + x) / rescale_output_factor.
// Keys: group_norm, to_q, to_k, to_v, to_out.0 — or the names checkpoints saved before
// diffusers 0.14 use (query, key, value, proj_attn), which diffusers renames on load.
#pragma once
#include <string>

#include "models/conv_layers.h"
#include "models/layers.h"

namespace vlv::models {

struct SpatialAttention {
  GroupNorm group_norm;
  Linear q, k, v, out;
  int64_t heads = 1;
  double rescale_output_factor = 1;
  static SpatialAttention load(const WeightBuilder& vb, int64_t channels, int64_t heads, int64_t groups, double eps,
                               double rescale_output_factor = 1);
  Tensor operator()(const Tensor& x) const;
};

}  // namespace vlv::models
