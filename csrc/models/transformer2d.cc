#include "models/transformer2d.h"

namespace vlv::models {

CrossAttention CrossAttention::load(const WeightBuilder& vb, int64_t query_dim, int64_t context_dim, int64_t heads,
                                    int64_t head_dim) {
  CrossAttention a;
  int64_t inner = heads * head_dim;
  a.heads = heads;
  a.to_q = Linear::load(vb.at("to_q"), query_dim, inner, false);
  a.to_k = Linear::load(vb.at("to_k"), context_dim, inner, false);
  a.to_v = Linear::load(vb.at("to_v"), context_dim, inner, false);
  a.to_out = Linear::load(vb.at("to_out").at(0), inner, query_dim);
  return a;
}

Tensor CrossAttention::operator()(const Tensor& x, const Tensor& context, const Tensor& mask) const {
  const Tensor& kv = context.defined() ? context : x;
  Tensor q = split_heads(to_q(x), heads), k = split_heads(to_k(kv), heads), v = split_heads(to_v(kv), heads);
  return to_out(merge_heads(ops::attention(q, k, v, mask)[0]));
}

BasicTransformerBlock BasicTransformerBlock::load(const WeightBuilder& vb, int64_t inner, int64_t head_dim,
                                                  const TransformerOptions& opt) {
  BasicTransformerBlock B;
  B.only_cross_attention = opt.only_cross_attention;
  B.norm1 = LayerNorm::load(vb.at("norm1"), inner, 1e-5);
  B.norm2 = LayerNorm::load(vb.at("norm2"), inner, 1e-5);
  B.norm3 = LayerNorm::load(vb.at("norm3"), inner, 1e-5);
  int64_t self_context = opt.only_cross_attention ? opt.cross_attention_dim : inner;
  B.attn1 = CrossAttention::load(vb.at("attn1"), inner, self_context, opt.heads, head_dim);
  B.attn2 = CrossAttention::load(vb.at("attn2"), inner, opt.cross_attention_dim, opt.heads, head_dim);
  B.ff_in = Linear::load(vb.at("ff.net.0.proj"), inner, 8 * inner);
  B.ff_out = Linear::load(vb.at("ff.net.2"), 4 * inner, inner);
  return B;
}

Tensor BasicTransformerBlock::operator()(const Tensor& x, const Tensor& context, const Tensor& mask) const {
  // attn1 never sees the context mask (diffusers passes it the self-attention mask, unused here).
  Tensor h = ops::add(x, attn1(norm1(x), only_cross_attention ? context : Tensor(), Tensor()));
  h = ops::add(h, attn2(norm2(h), context, mask));
  return ops::add(h, ff_out(ops::geglu(ff_in(norm3(h)))));
}

Transformer2D Transformer2D::load(const WeightBuilder& vb, int64_t channels, const TransformerOptions& opt) {
  VLV_CHECK(opt.heads > 0 && channels >= opt.heads, ErrorCode::FileFormat, vb.source(), ": ", vb.key(), " has ",
            channels, " channels for ", opt.heads, " attention heads");
  Transformer2D t;
  t.opt = opt;
  t.channels = channels;
  int64_t head_dim = channels / opt.heads;
  t.inner = opt.heads * head_dim;
  t.norm = GroupNorm::load(vb.at("norm"), channels, opt.groups, 1e-6);
  Shape in_shape = opt.linear_projection ? Shape{t.inner, channels} : Shape{t.inner, channels, 1, 1};
  Shape out_shape = opt.linear_projection ? Shape{channels, t.inner} : Shape{channels, t.inner, 1, 1};
  t.proj_in_w = vb.take("proj_in.weight", in_shape);
  t.proj_in_b = vb.take("proj_in.bias", {t.inner});
  t.proj_out_w = vb.take("proj_out.weight", out_shape);
  t.proj_out_b = vb.take("proj_out.bias", {channels});
  for (int64_t i = 0; i < opt.layers; ++i)
    t.blocks.push_back(BasicTransformerBlock::load(vb.at("transformer_blocks").at(i), t.inner, head_dim, opt));
  return t;
}

Tensor Transformer2D::operator()(const Tensor& x, const Tensor& context, const Tensor& mask) const {
  int64_t b = x.size(0), c = x.size(1), hh = x.size(2), ww = x.size(3);
  Tensor h = ops::reshape(ops::permute(norm(x), {0, 2, 3, 1}), {b, hh * ww, c});
  h = ops::linear(h, opt.linear_projection ? proj_in_w : ops::reshape(proj_in_w, {inner, channels}), proj_in_b);
  for (const BasicTransformerBlock& B : blocks) h = B(h, context, mask);
  h = ops::linear(h, opt.linear_projection ? proj_out_w : ops::reshape(proj_out_w, {channels, inner}), proj_out_b);
  h = ops::permute(ops::reshape(h, {b, hh, ww, c}), {0, 3, 1, 2});
  return ops::add(h, x);
}

}  // namespace vlv::models
