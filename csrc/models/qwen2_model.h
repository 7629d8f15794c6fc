// Qwen2Model (transformers): token embeddings, the decoder layers, the final RMSNorm.
// Keys under "model": embed_tokens, layers.N.*, norm.
#pragma once
#include <vector>

#include "models/qwen2_decoder_layer.h"

namespace vlv::models {

class Qwen2Model {
 public:
  Qwen2Model(const Qwen2Config& c, const WeightBuilder& vb);

  // Token embeddings of ids [B, L] (i32/i64) -> [B, L, H].
  Tensor embed(const Tensor& ids) const { return ops::embedding(embed_tokens_, ids); }
  // The decoder stack on hidden states [B, L, H] (f32, or bf16 as transformers runs a bf16
  // inputs_embeds: RoPE tables rounded to bf16) -> final-normed hidden states.
  // positions: i64 [B, L]; key_mask: bool [B, 1, 1, Lk] or undefined. With `hidden`, collects
  // transformers' output_hidden_states: the input, each layer's output but the last, and the
  // final-normed output.
  Tensor operator()(Tensor h, const Tensor& positions, const Tensor& key_mask, const CacheUse& cache,
                    std::vector<Tensor>* hidden = nullptr) const;

  const Tensor& embed_tokens() const { return embed_tokens_; }
  int64_t layer_count() const { return int64_t(layers_.size()); }

 private:
  Tensor embed_tokens_;  // [vocab, H] (the load's matrix dtype)
  std::vector<Qwen2DecoderLayer> layers_;
  RMSNorm norm_;
};

}  // namespace vlv::models
