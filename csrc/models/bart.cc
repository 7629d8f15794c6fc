// BART encoder/decoder stacks of Florence-2 (see bart.h). Per layer, post-LN:
//   encoder: h = LN(h + out(attn(h, mask)));                    h = LN(h + fc2(act(fc1(h))))
//   decoder: h = LN(h + out(attn(h, causal & mask)));
//            h = LN(h + out(attn(h -> encoder states, enc mask)));  h = LN(h + fc2(act(fc1(h))))
// Attention scale head_dim^-0.5. Masked keys get finfo.min in the reference; a boolean mask
// gives the same result for every row that sees at least one key.
#include "models/bart.h"

namespace vlv::models {

namespace {

// [B, L] (any dtype, nonzero = attend) -> bool [B, 1, 1, L].
Tensor key_mask(const Tensor* m, int64_t batch, int64_t length, const char* what) {
  if (!m) return {};
  VLV_CHECK(m->dim() == 2 && m->size(0) == batch && m->size(1) == length, ErrorCode::Shape, what, " must be [", batch,
            ", ", length, "], got ", m->desc());
  return ops::reshape(ops::cast(*m, DType::Bool), {batch, 1, 1, length});
}

}  // namespace

BartAttention BartAttention::load(const WeightBuilder& vb, int64_t dim, int64_t heads) {
  BartAttention a;
  a.q = Linear::load(vb.at("q_proj"), dim, dim);
  a.k = Linear::load(vb.at("k_proj"), dim, dim);
  a.v = Linear::load(vb.at("v_proj"), dim, dim);
  a.out = Linear::load(vb.at("out_proj"), dim, dim);
  a.heads = heads;
  return a;
}

Tensor BartAttention::operator()(const Tensor& x, const Tensor& kv, const Tensor& mask, bool causal) const {
  return attend(x, split_heads(k(kv), heads), split_heads(v(kv), heads), mask, causal);
}

Tensor BartAttention::attend(const Tensor& x, const Tensor& k, const Tensor& v, const Tensor& mask, bool causal) const {
  return out(merge_heads(ops::attention(split_heads(q(x), heads), k, v, mask, causal)[0]));
}

BartStack::BartStack(const BartStackConfig& c, const WeightBuilder& vb, bool decoder) : c_(c), decoder_(decoder) {
  positions_ = vb.take("embed_positions.weight", {c.positions + 2, c.dim});
  embed_norm_ = LayerNorm::load(vb.at("layernorm_embedding"), c.dim, 1e-5);
  for (int64_t i = 0; i < c.layers; ++i) {
    const WeightBuilder l = vb.at("layers").at(i);
    BartLayer L;
    L.self_attn = BartAttention::load(l.at("self_attn"), c.dim, c.heads);
    L.self_attn_norm = LayerNorm::load(l.at("self_attn_layer_norm"), c.dim, 1e-5);
    if (decoder) {
      L.cross_attn = BartAttention::load(l.at("encoder_attn"), c.dim, c.heads);
      L.cross_attn_norm = LayerNorm::load(l.at("encoder_attn_layer_norm"), c.dim, 1e-5);
    }
    L.fc1 = Linear::load(l.at("fc1"), c.dim, c.ffn);
    L.fc2 = Linear::load(l.at("fc2"), c.ffn, c.dim);
    L.final_norm = LayerNorm::load(l.at("final_layer_norm"), c.dim, 1e-5);
    layers_.push_back(std::move(L));
  }
}

Tensor BartStack::embed(const Tensor& x, const char* what, int64_t offset) const {
  VLV_CHECK(x.dim() == 3 && x.size(2) == c_.dim, ErrorCode::Shape, what, " must be [B, L, ", c_.dim, "], got ",
            x.desc());
  int64_t end = offset + x.size(1);
  VLV_CHECK(end <= c_.positions, ErrorCode::Shape, what, ": ", end, " positions but max_position_embeddings is ",
            c_.positions);
  return embed_norm_(ops::add(x, ops::slice(positions_, 0, 2 + offset, 2 + end)));
}

Tensor BartStack::ffn(const BartLayer& L, const Tensor& h) const {
  return L.final_norm(ops::add(h, L.fc2(L.fc1(h, c_.activation))));
}

Tensor BartStack::encode(const Tensor& embeds, const Tensor* mask) const {
  Tensor h = embed(embeds, "florence2.encoder: inputs_embeds");
  Tensor m = key_mask(mask, h.size(0), h.size(1), "florence2.encoder: attention_mask");
  for (const BartLayer& L : layers_) {
    h = L.self_attn_norm(ops::add(h, L.self_attn(h, h, m, false)));
    h = ffn(L, h);
  }
  return h;
}

Tensor BartStack::decode(const Tensor& embeds, const Tensor* mask, const Tensor* enc, const Tensor* enc_mask) const {
  Tensor h = embed(embeds, "florence2.query_decoder: inputs_embeds");
  int64_t B = h.size(0);
  Tensor m = key_mask(mask, B, h.size(1), "florence2.query_decoder: attention_mask");
  Tensor em;
  if (enc) {
    VLV_CHECK(enc->dim() == 3 && enc->size(0) == B && enc->size(2) == c_.dim, ErrorCode::Shape,
              "florence2.query_decoder: encoder_hidden_states must be [", B, ", S, ", c_.dim, "], got ", enc->desc());
    em = key_mask(enc_mask, B, enc->size(1), "florence2.query_decoder: encoder_attention_mask");
  } else {
    VLV_CHECK(!enc_mask, ErrorCode::Arg,
              "florence2.query_decoder: encoder_attention_mask given without encoder_hidden_states");
  }
  for (const BartLayer& L : layers_) {
    h = L.self_attn_norm(ops::add(h, L.self_attn(h, h, m, true)));
    if (enc) h = L.cross_attn_norm(ops::add(h, L.cross_attn(h, *enc, em, false)));
    h = ffn(L, h);
  }
  return h;
}

BartDecodeCache BartStack::start_decoding(const Tensor& enc, const Tensor* enc_mask, int64_t capacity) const {
  VLV_CHECK(decoder_ && enc.dim() == 3 && enc.size(2) == c_.dim, ErrorCode::Shape,
            "florence2.generate: encoder states must be [R, S, ", c_.dim, "], got ", enc.desc());
  const int64_t rows = enc.size(0), head_dim = c_.dim / c_.heads;
  BartDecodeCache cache;
  cache.self.emplace(int64_t(layers_.size()), rows, c_.heads, capacity, head_dim);
  cache.cross_mask = key_mask(enc_mask, rows, enc.size(1), "florence2.generate: encoder attention mask");
  for (const BartLayer& L : layers_) {
    cache.cross_k.push_back(split_heads(L.cross_attn.k(enc), c_.heads));
    cache.cross_v.push_back(split_heads(L.cross_attn.v(enc), c_.heads));
  }
  return cache;
}

Tensor BartStack::decode_step(const Tensor& embeds, BartDecodeCache& cache) const {
  KvCache& kv = *cache.self;
  VLV_CHECK(embeds.dim() == 3 && embeds.size(0) == kv.rows() && embeds.size(1) == 1, ErrorCode::Internal,
            "florence2.generate: a decoding step takes [", kv.rows(), ", 1, D], got ", embeds.desc());
  const int64_t at = kv.length();
  Tensor h = embed(embeds, "florence2.generate: decoder positions", at);
  kv.advance(1);
  Tensor self_mask = kv.key_mask();  // the filled slots: this position and every earlier one
  for (size_t i = 0; i < layers_.size(); ++i) {
    const BartLayer& L = layers_[i];
    kv.write(int64_t(i), at, split_heads(L.self_attn.k(h), c_.heads), split_heads(L.self_attn.v(h), c_.heads));
    h = L.self_attn_norm(
        ops::add(h, L.self_attn.attend(h, kv.keys(int64_t(i)), kv.values(int64_t(i)), self_mask, false)));
    h = L.cross_attn_norm(
        ops::add(h, L.cross_attn.attend(h, cache.cross_k[i], cache.cross_v[i], cache.cross_mask, false)));
    h = ffn(L, h);
  }
  return h;
}

}  // namespace vlv::models
