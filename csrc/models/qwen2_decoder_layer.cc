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
  Tensor normed;
  if (cache.bf16_input && layer == 0) {  // Qwen2RMSNorm: weight * normed.to(bf16), h still bf16-valued here
    const RMSNorm& n = input_layernorm;
    Tensor unit = ops::rms_norm(h, Tensor::full({n.weight.size(0)}, 1.0f).to(n.weight.device()), n.eps);
    normed = ops::mul(ops::cast(ops::cast(unit, DType::BF16), DType::F32), n.weight);
  } else {
    normed = input_layernorm(h);
  }
  Tensor x = ops::add(h, self_attn(normed, positions, key_mask, cache, layer));
  return ops::add(x, mlp(post_attention_layernorm(x)));
}

}  // namespace vlv::models
