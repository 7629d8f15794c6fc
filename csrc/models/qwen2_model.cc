#include "models/qwen2_model.h"

namespace vlv::models {

Qwen2Model::Qwen2Model(const Qwen2Config& c, const WeightBuilder& vb) {
  embed_tokens_ = vb.take_matrix("embed_tokens.weight", {c.vocab_size, c.hidden_size});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i)
    layers_.push_back(Qwen2DecoderLayer::load(vb.at("layers").at(i), c));
  norm_ = RMSNorm::load(vb.at("norm"), c.hidden_size, c.rms_norm_eps);
}

Tensor Qwen2Model::operator()(Tensor h, const Tensor& positions, const Tensor& key_mask, const CacheUse& cache,
                              std::vector<Tensor>* hidden) const {
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (hidden) hidden->push_back(h);
    h = layers_[i](h, positions, key_mask, cache, int64_t(i));
  }
  Tensor out = norm_(h);
  if (hidden) hidden->push_back(out);
  return out;
}

}  // namespace vlv::models
