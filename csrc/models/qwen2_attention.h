// Qwen2Attention (transformers): q/k/v projections with bias, o_proj without; RoPE on q and
// k; grouped K/V heads (num_key_value_heads) read by the attention op directly; causal
// softmax attention with scale head_dim^-0.5. Keys under the module's path: q_proj, k_proj,
// v_proj, o_proj.
#pragma once
#include "models/kv_cache.h"
#include "models/layers.h"
#include "models/qwen2_config.h"

namespace vlv::models {

// Where a forward pass keeps its keys and values: nowhere (plain forward), or a cache with
// positions [at, at + L) reserved for this pass. `attend_cache` reads the whole cache (one
// new token) instead of the pass's own keys (the prompt).
struct CacheUse {
  KvCache* cache = nullptr;
  int64_t at = 0;
  bool attend_cache = false;
  // The stack's input was bf16 (VLV's generate prefix), run as transformers runs it with f32
  // weights: the RoPE cos/sin are cast to the input's dtype (bf16 tables in every layer), and
  // the first input_layernorm casts its normalised values back to bf16 before the weight.
  bool bf16_input = false;
};

struct Qwen2Attention {
  Linear q_proj, k_proj, v_proj, o_proj;
  int64_t heads = 1, kv_heads = 1;
  double rope_theta = 10000.0;

  static Qwen2Attention load(const WeightBuilder& vb, const Qwen2Config& c);
  // x [B, L, H] (normed) -> [B, L, H]. positions: i64 [B, L]; key_mask: bool [B, 1, 1, Lk] or
  // undefined. `layer` indexes the cache.
  Tensor operator()(const Tensor& x, const Tensor& positions, const Tensor& key_mask, const CacheUse& cache,
                    int64_t layer) const;
};

}  // namespace vlv::models
