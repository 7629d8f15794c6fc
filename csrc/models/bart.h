// The BART-style encoder and decoder of Florence-2's language model (Florence2Encoder /
// Florence2Decoder), driven by embeddings: learned positions with offset 2 (rows 2.. of
// embed_positions), layernorm_embedding, post-LN layers (residual, then LayerNorm), exact
// GELU feed-forward. The decoder's self-attention is causal and its cross-attention reads the
// encoder states. Masks are [B, L] key-padding masks (nonzero = attend).
#pragma once
#include <string>
#include <vector>

#include "models/layers.h"

namespace vlv::models {

struct BartAttention {
  Linear q, k, v, out;
  int64_t heads = 1;
  static BartAttention load(Weights& w, const std::string& prefix, int64_t dim, int64_t heads);
  // x [B, Lq, D] attends to kv [B, Lk, D]; mask bool [B, 1, 1, Lk] or undefined.
  Tensor operator()(const Tensor& x, const Tensor& kv, const Tensor& mask, bool causal) const;
  void collect(NamedTensors& out, const std::string& prefix) const;
};

struct BartLayer {
  BartAttention self_attn, cross_attn;  // cross_attn: decoder only
  LayerNorm self_attn_norm, cross_attn_norm, final_norm;
  Linear fc1, fc2;
};

// Shape of one stack, from text_config (encoder_* or decoder_* fields).
struct BartStackConfig {
  int64_t dim, heads, ffn, layers, positions;
  std::string activation;
};

class BartStack {
 public:
  // prefix e.g. "language_model.model.encoder."; decoder layers add cross-attention.
  BartStack(const BartStackConfig& c, Weights& w, const std::string& prefix, bool decoder);

  // Encoder: x [B, L, D], mask [B, L] optional.
  Tensor encode(const Tensor& embeds, const Tensor* mask) const;
  // Decoder: queries [B, Q, D], their mask [B, Q] optional, encoder states [B, S, D] optional
  // (no cross-attention without them) and their mask [B, S] optional.
  Tensor decode(const Tensor& embeds, const Tensor* mask, const Tensor* encoder_states,
                const Tensor* encoder_mask) const;
  void collect(NamedTensors& out) const;

 private:
  Tensor embed(const Tensor& x, const char* what) const;
  Tensor ffn(const BartLayer& L, const Tensor& h) const;

  BartStackConfig c_;
  std::string prefix_;
  bool decoder_;
  Tensor positions_;  // [positions + 2, D]
  LayerNorm embed_norm_;
  std::vector<BartLayer> layers_;
};

}  // namespace vlv::models
