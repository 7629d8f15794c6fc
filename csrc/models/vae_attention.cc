#include "models/vae_attention.h"

#include <array>

namespace vlv::models {

namespace {
// to_q, to_k, to_v, to_out.0 under current and pre-0.14 diffusers names.
std::array<std::string, 4> linear_names(bool legacy) {
  if (legacy) return {"query", "key", "value", "proj_attn"};
  return {"to_q", "to_k", "to_v", "to_out.0"};
}
}  // namespace

SpatialAttention SpatialAttention::load(const WeightBuilder& vb, int64_t channels, int64_t heads, int64_t groups,
                                        double eps, double rescale_output_factor) {
  VLV_CHECK(heads > 0 && channels % heads == 0, ErrorCode::FileFormat, vb.source(), ": ", vb.key(), ": ", channels,
            " channels do not split into ", heads, " heads");
  SpatialAttention a;
  auto names = linear_names(!vb.has("to_q.weight") && vb.has("query.weight"));
  a.group_norm = GroupNorm::load(vb.at("group_norm"), channels, groups, eps);
  a.q = Linear::load(vb.at(names[0]), channels, channels);
  a.k = Linear::load(vb.at(names[1]), channels, channels);
  a.v = Linear::load(vb.at(names[2]), channels, channels);
  a.out = Linear::load(vb.at(names[3]), channels, channels);
  a.heads = heads;
  a.rescale_output_factor = rescale_output_factor;
  return a;
}

Tensor SpatialAttention::operator()(const Tensor& x) const {
  VLV_CHECK(x.dim() == 4, ErrorCode::Shape, "attention block: input must be [N, C, H, W], got ", x.desc());
  int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  Tensor tokens = ops::permute(ops::reshape(group_norm(x), {n, c, h * wd}), {0, 2, 1});  // [N, HW, C]
  Tensor a =
      ops::attention(split_heads(q(tokens), heads), split_heads(k(tokens), heads), split_heads(v(tokens), heads))[0];
  Tensor y = ops::reshape(ops::permute(out(merge_heads(a)), {0, 2, 1}), {n, c, h, wd});
  y = ops::add(y, x);
  return rescale_output_factor == 1 ? y : ops::scale(y, 1 / rescale_output_factor);
}

}  // namespace vlv::models
