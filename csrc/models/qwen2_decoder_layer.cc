#include "models/qwen2_decoder_layer.h"

namespace vlv::models {

Qwen2DecoderLayer Qwen2DecoderLayer::load(const WeightBuilder& vb, const Qwen2Config& c) {
  Qwen2DecoderLayer l;
  l.input_layernorm = RMSNorm::load(vb.at("input_layernorm"), c.hidden_size, c.rms_norm_eps);
  l.self_attn = Qwen2Attention::load(vb.at("self_attn"), c);
  l.post_attention_layernorm = RMSNorm::load(vb.at("post_attention_layernorm"), c.hidden_size, c.rms_norm_eps);
  l.mlp = Qwen2MLP::load(vb.at("mlp"), c);
  return l;
}

Tensor Qwen2DecoderLayer::operator()(const Tensor& h, const Tensor& positions, const Tensor& key_mask,
                                     const CacheUse& cache, int64_t layer) const {
  Tensor x = ops::add(h, self_attn(input_layernorm(h), positions, key_mask, cache, layer));
  return ops::add(x, mlp(post_attention_layernorm(x)));
}

}  // namespace vlv::models
