// The BART-style encoder and decoder of Florence-2's language model (Florence2Encoder /
// Florence2Decoder), driven by embeddings: learned positions with offset 2 (rows 2.. of
// embed_positions), layernorm_embedding, post-LN layers (residual, then LayerNorm), exact
// GELU feed-forward. The decoder's self-attention is causal and its cross-attention reads the
// encoder states. Masks are [B, L] key-padding masks (nonzero = attend). For token generation
// the decoder also runs one position at a time over a BartDecodeCache.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "models/kv_cache.h"
#include "models/layers.h"

namespace vlv::models {

struct BartAttention {
  Linear q, k, v, out;
  int64_t heads = 1;
  static BartAttention load(const WeightBuilder& vb, int64_t dim, int64_t heads);
  // x [B, Lq, D] attends to kv [B, Lk, D]; mask bool [B, 1, 1, Lk] or undefined.
  Tensor operator()(const Tensor& x, const Tensor& kv, const Tensor& mask, bool causal) const;
  // The same with keys/values already projected and split: k, v [B, H, Lk, D/H].
  Tensor attend(const Tensor& x, const Tensor& k, const Tensor& v, const Tensor& mask, bool causal) const;
};

struct BartLayer {
  BartAttention self_attn, cross_attn;  // cross_attn: decoder only
  LayerNorm self_attn_norm, cross_attn_norm, final_norm;
  Linear fc1, fc2;
};

// Incremental decoding state: the self-attention KV cache (one slot per decoding position)
// and every layer's cross-attention keys/values, projected once from the encoder states.
struct BartDecodeCache {
  std::optional<KvCache> self;
  std::vector<Tensor> cross_k, cross_v;  // per layer [R, H, S, D/H]
  Tensor cross_mask;                     // bool [R, 1, 1, S] or undefined
};

// Shape of one stack, from text_config (encoder_* or decoder_* fields).
struct BartStackConfig {
  int64_t dim, heads, ffn, layers, positions;
  std::string activation;
};

class BartStack {
 public:
  // vb at e.g. "language_model.model.encoder"; decoder layers add cross-attention.
  BartStack(const BartStackConfig& c, const WeightBuilder& vb, bool decoder);

  // Encoder: x [B, L, D], mask [B, L] optional.
  Tensor encode(const Tensor& embeds, const Tensor* mask) const;
  // Decoder: queries [B, Q, D], their mask [B, Q] optional, encoder states [B, S, D] optional
  // (no cross-attention without them) and their mask [B, S] optional.
  Tensor decode(const Tensor& embeds, const Tensor* mask, const Tensor* encoder_states,
                const Tensor* encoder_mask) const;
  // Decoder, incremental: a cache for R rows decoding up to `capacity` positions against
  // encoder states [R, S, D] (mask [R, S] optional). No autograd (generation only).
  BartDecodeCache start_decoding(const Tensor& encoder_states, const Tensor* encoder_mask, int64_t capacity) const;
  // One new position per row: embeds [R, 1, D] at position cache.self->length() -> [R, 1, D];
  // equal to the last row of decode() over all positions so far.
  Tensor decode_step(const Tensor& embeds, BartDecodeCache& cache) const;

 private:
  // x + positions [offset, offset + L), then layernorm_embedding.
  Tensor embed(const Tensor& x, const char* what, int64_t offset = 0) const;
  Tensor ffn(const BartLayer& L, const Tensor& h) const;

  BartStackConfig c_;
  bool decoder_;
  Tensor positions_;  // [positions + 2, D]
  LayerNorm embed_norm_;
  std::vector<BartLayer> layers_;
};

}  // namespace vlv::models
