// Qwen2DecoderLayer (transformers): h += self_attn(input_layernorm(h));
// h += mlp(post_attention_layernorm(h)). Keys under model.layers.N: input_layernorm,
// self_attn.*, post_attention_layernorm, mlp.*.
#pragma once
#include "models/qwen2_attention.h"
#include "models/qwen2_mlp.h"

namespace vlv::models {

struct Qwen2DecoderLayer {
  RMSNorm input_layernorm, post_attention_layernorm;
  Qwen2Attention self_attn;
  Qwen2MLP mlp;

  static Qwen2DecoderLayer load(const WeightBuilder& vb, const Qwen2Config& c);
  Tensor operator()(const Tensor& h, const Tensor& positions, const Tensor& key_mask, const CacheUse& cache,
                    int64_t layer) const;
};

}  // namespace vlv::models
