#include "models/qwen2_attention.h"

namespace vlv::models {

Qwen2Attention Qwen2Attention::load(const WeightBuilder& vb, const Qwen2Config& c) {
  Qwen2Attention a;
  a.heads = c.num_attention_heads;
  a.kv_heads = *c.num_key_value_heads;
  a.rope_theta = c.rope_theta;
  const int64_t q_dim = a.heads * *c.head_dim, kv_dim = a.kv_heads * *c.head_dim;
  a.q_proj = Linear::load(vb.at("q_proj"), c.hidden_size, q_dim);
  a.k_proj = Linear::load(vb.at("k_proj"), c.hidden_size, kv_dim);
  a.v_proj = Linear::load(vb.at("v_proj"), c.hidden_size, kv_dim);
  a.o_proj = Linear::load(vb.at("o_proj"), q_dim, c.hidden_size, /*has_bias=*/false);
  return a;
}

Tensor Qwen2Attention::operator()(const Tensor& x, const Tensor& positions, const Tensor& key_mask,
                                  const CacheUse& cache, int64_t layer) const {
  Tensor q = ops::rope(split_heads(q_proj(x), heads), positions, rope_theta, cache.bf16_input);
  Tensor k = ops::rope(split_heads(k_proj(x), kv_heads), positions, rope_theta, cache.bf16_input);
  Tensor v = split_heads(v_proj(x), kv_heads);
  if (cache.cache) {
    cache.cache->write(layer, cache.at, k, v);
    if (cache.attend_cache) {
      k = cache.cache->keys(layer);
      v = cache.cache->values(layer);
    }
  }
  Tensor a = ops::attention(q, k, v, key_mask, /*causal=*/!cache.attend_cache)[0];
  return o_proj(merge_heads(a));
}

}  // namespace vlv::models
