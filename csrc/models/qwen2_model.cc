#include "models/qwen2_model.h"

namespace vlv::models {

Qwen2Model::Qwen2Model(const Qwen2Config& c, const WeightBuilder& vb) {
  embed_tokens_ = vb.take_matrix("embed_tokens.weight", {c.vocab_size, c.hidden_size});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i)
    layers_.push_back(Qwen2DecoderLayer::load(vb.at("layers").at(i), c));
  norm_ = RMSNorm::load(vb.at("norm"), c.hidden_size, c.rms_norm_eps);
}

Tensor Qwen2Model::operator()(Tensor h, const Tensor& positions, const Tensor& key_mask, const CacheUse& use,
                              std::vector<Tensor>* hidden) const {
  // bf16 hidden states (inputs_embeds) enter exactly as f32 (the first norm upcasts them in
  // the reference too); what stays of their dtype is the rounding of the RoPE tables.
  CacheUse cache = use;
  if (h.dtype() == DType::BF16) {
    cache.bf16_input = true;
    h = ops::cast(h, DType::F32);
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (hidden) hidden->push_back(h);
    h = layers_[i](h, positions, key_mask, cache, int64_t(i));
  }
  Tensor out = norm_(h);
  if (hidden) hidden->push_back(out);
  return out;
}

}  // namespace vlv::models
