// DaViT forward (see davit.h). Formulas, from Florence-2's modeling_florence2.py:
//   ConvEmbed:    x = conv(x) (kernel patch_size, stride, padding); LayerNorm on the tokens
//                 after it, or before it (over the input channels) when patch_prenorm. The
//                 reference applies a pre-norm only to token input (stages > 0): the first
//                 stage's pre-norm, if configured, exists in the checkpoint but is never used.
//   SpatialBlock: x += dwconv(x); x += proj(window_attention(LN(x))); x += dwconv(x);
//                 x += fc2(gelu(fc1(LN(x)))). Window attention: heads of dim C/heads over
//                 window x window tokens, scale head_dim^-0.5; the LN output is zero-padded at
//                 the bottom/right first, so padded tokens take part as keys (their k/v are
//                 the qkv bias), and the output is cropped back.
//   ChannelBlock: the same with channel attention: C split in `groups` groups of Cg; per
//                 group the Cg x Cg map softmax((q*N^-0.5)^T k) over the N tokens, out = v a^T.
// MLP ratio 4, qkv bias and both conv position encodings are fixed in the reference.
#include "models/davit.h"

#include <cmath>

namespace vlv::models {

namespace {

constexpr int64_t kMlpRatio = 4;

// [B, N, C] tokens <-> [B, C, h, w] maps.
Tensor to_map(const Tensor& x, int64_t h, int64_t w) {
  return ops::reshape(ops::permute(x, {0, 2, 1}), {x.size(0), x.size(2), h, w});
}
Tensor to_tokens(const Tensor& m) {
  return ops::permute(ops::reshape(m, {m.size(0), m.size(1), m.size(2) * m.size(3)}), {0, 2, 1});
}

Tensor conv_pos(const DepthwiseConv& c, const Tensor& x, int64_t h, int64_t w) {
  Tensor y = ops::conv2d(to_map(x, h, w), c.weight, c.bias, 1, 1, x.size(2));
  return ops::add(x, to_tokens(y));
}

Tensor mlp(const DavitBlock& b, const Tensor& x) { return ops::add(x, b.fc2(b.fc1(b.ffn_norm(x), "gelu"))); }

// [B, N, 3C] -> q, k, v as [B, heads, N, C/heads].
Tensors qkv_heads(const DavitBlock& b, const Tensor& x) {
  int64_t c = x.size(2);
  Tensors parts = ops::split(b.qkv(x), 2, {c, c, c});
  for (Tensor& p : parts) p = split_heads(p, b.heads);
  return parts;
}

// Zero rows appended along `dim` of a [B, H, W, C] map.
Tensor pad_dim(const Tensor& x, int64_t dim, int64_t extra) {
  if (extra == 0) return x;
  Shape s = x.shape();
  s[size_t(dim)] = extra;
  return ops::concat({x, Tensor::zeros(s, x.dtype(), x.device())}, dim);
}

Tensor window_attention(const DavitBlock& b, const Tensor& x, int64_t h, int64_t w, int64_t ws) {
  int64_t B = x.size(0), C = x.size(2);
  int64_t hp = (h + ws - 1) / ws * ws, wp = (w + ws - 1) / ws * ws;
  Tensor m = ops::reshape(x, {B, h, w, C});
  m = pad_dim(pad_dim(m, 2, wp - w), 1, hp - h);
  int64_t nh = hp / ws, nw = wp / ws;
  // [B, nh, ws, nw, ws, C] -> [B, nh, nw, ws, ws, C] -> windows [B*nh*nw, ws*ws, C]
  Tensor win = ops::reshape(ops::permute(ops::reshape(m, {B, nh, ws, nw, ws, C}), {0, 1, 3, 2, 4, 5}),
                            {B * nh * nw, ws * ws, C});
  Tensors qkv = qkv_heads(b, win);
  Tensor a = b.proj(merge_heads(ops::attention(qkv[0], qkv[1], qkv[2])[0]));
  m = ops::reshape(ops::permute(ops::reshape(a, {B, nh, nw, ws, ws, C}), {0, 1, 3, 2, 4, 5}), {B, hp, wp, C});
  if (hp != h) m = ops::slice(m, 1, 0, h);
  if (wp != w) m = ops::slice(m, 2, 0, w);
  return ops::reshape(m, {B, h * w, C});
}

Tensor channel_attention(const DavitBlock& b, const Tensor& x) {
  int64_t B = x.size(0), N = x.size(1), C = x.size(2);
  Tensors qkv = qkv_heads(b, x);                                                                // [B, G, N, Cg]
  Tensor s = ops::matmul(qkv[0], qkv[1], /*trans_a=*/true, false, 1.0 / std::sqrt(double(N)));  // [B, G, Cg, Cg]
  Tensor o = ops::matmul(ops::softmax(s), qkv[2], false, /*trans_b=*/true);                     // [B, G, Cg, N]
  return b.proj(ops::reshape(ops::permute(o, {0, 3, 1, 2}), {B, N, C}));
}

// attn: "window_attn" (spatial blocks) or "channel_attn" (channel blocks).
DavitBlock load_block(const WeightBuilder& vb, const std::string& attn, int64_t dim, int64_t heads) {
  DavitBlock b;
  b.heads = heads;
  b.conv1 = DepthwiseConv::load(vb.at("conv1.fn.dw"), dim);
  b.conv2 = DepthwiseConv::load(vb.at("conv2.fn.dw"), dim);
  b.attn_norm = LayerNorm::load(vb.at(attn).at("norm"), dim, 1e-5);
  b.qkv = Linear::load(vb.at(attn).at("fn.qkv"), dim, 3 * dim);
  b.proj = Linear::load(vb.at(attn).at("fn.proj"), dim, dim);
  b.ffn_norm = LayerNorm::load(vb.at("ffn.norm"), dim, 1e-5);
  b.fc1 = Linear::load(vb.at("ffn.fn.net.fc1"), dim, kMlpRatio * dim);
  b.fc2 = Linear::load(vb.at("ffn.fn.net.fc2"), kMlpRatio * dim, dim);
  return b;
}

}  // namespace

DepthwiseConv DepthwiseConv::load(const WeightBuilder& vb, int64_t dim) {
  return {vb.take("weight", {dim, 1, 3, 3}), vb.take("bias", {dim})};
}

DaViT::DaViT(const DavitVisionConfig& c, const WeightBuilder& vb) {
  dims_ = c.dim_embed;
  window_ = c.window_size;
  for (size_t i = 0; i < dims_.size(); ++i) {
    const int64_t dim = dims_[i], cin = i == 0 ? 3 : dims_[i - 1], k = c.patch_size[i];
    const bool prenorm = c.patch_prenorm[i];
    DavitStage s;
    const WeightBuilder conv = vb.at("convs").at(i);
    s.embed.weight = conv.take("proj.weight", {dim, cin, k, k});
    s.embed.bias = conv.take("proj.bias", {dim});
    s.embed.pre_norm = prenorm;
    s.embed.norm = LayerNorm::load(conv.at("norm"), prenorm ? cin : dim, 1e-5);
    s.embed.stride = c.patch_stride[i];
    s.embed.padding = c.patch_padding[i];
    for (int64_t j = 0; j < c.depths[i]; ++j) {
      const WeightBuilder block = vb.at("blocks").at(i).at(j);
      s.spatial.push_back(load_block(block.at("spatial_block"), "window_attn", dim, c.num_heads[i]));
      s.channel.push_back(load_block(block.at("channel_block"), "channel_attn", dim, c.num_groups[i]));
    }
    stages_.push_back(std::move(s));
  }
}

Tensor DaViT::forward(const Tensor& pixel_values, int64_t* out_h, int64_t* out_w) const {
  const Tensor& px = pixel_values;
  VLV_CHECK(px.dim() == 4 && px.size(1) == 3, ErrorCode::Shape,
            "florence2 vision tower: pixel_values must be [B, 3, H, W], got ", px.desc());
  Tensor x;  // tokens [B, h*w, C] after the first stage
  int64_t h = px.size(2), w = px.size(3);
  for (size_t i = 0; i < stages_.size(); ++i) {
    const DavitStage& s = stages_[i];
    Tensor m = i == 0 ? px : to_map(s.embed.pre_norm ? s.embed.norm(x) : x, h, w);
    int64_t k = s.embed.weight.size(2);
    VLV_CHECK(h + 2 * s.embed.padding >= k && w + 2 * s.embed.padding >= k, ErrorCode::Shape,
              "florence2 vision tower: the ", h, "x", w, " map entering stage ", i, " is smaller than its ", k, "x", k,
              " patch (image ", px.size(2), "x", px.size(3), " is too small)");
    m = ops::conv2d(m, s.embed.weight, s.embed.bias, s.embed.stride, s.embed.padding);
    h = m.size(2);
    w = m.size(3);
    x = to_tokens(m);
    if (!s.embed.pre_norm) x = s.embed.norm(x);
    for (size_t j = 0; j < s.spatial.size(); ++j) {
      const DavitBlock& sb = s.spatial[j];
      x = conv_pos(sb.conv1, x, h, w);
      x = ops::add(x, window_attention(sb, sb.attn_norm(x), h, w, window_));
      x = mlp(sb, conv_pos(sb.conv2, x, h, w));
      const DavitBlock& cb = s.channel[j];
      x = conv_pos(cb.conv1, x, h, w);
      x = ops::add(x, channel_attention(cb, cb.attn_norm(x)));
      x = mlp(cb, conv_pos(cb.conv2, x, h, w));
    }
  }
  *out_h = h;
  *out_w = w;
  return x;
}

}  // namespace vlv::models
