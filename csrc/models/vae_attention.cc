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

SpatialAttention SpatialAttention::load(Weights& w, const std::string& prefix, int64_t channels, int64_t heads,
                                        int64_t groups, double eps, double rescale_output_factor) {
  VLV_CHECK(heads > 0 && channels % heads == 0, ErrorCode::FileFormat, w.source(), ": ", prefix, ": ", channels,
            " channels do not split into ", heads, " heads");
  SpatialAttention a;
  a.legacy_names = !w.has(prefix + ".to_q.weight") && w.has(prefix + ".query.weight");
  auto names = linear_names(a.legacy_names);
  a.group_norm = GroupNorm::load(w, prefix + ".group_norm", channels, groups, eps);
  a.q = Linear::load(w, prefix + "." + names[0], channels, channels);
  a.k = Linear::load(w, prefix + "." + names[1], channels, channels);
  a.v = Linear::load(w, prefix + "." + names[2], channels, channels);
  a.out = Linear::load(w, prefix + "." + names[3], channels, channels);
  a.heads = heads;
  a.rescale_output_factor = rescale_output_factor;
  return a;
}

Tensor SpatialAttention::operator()(const Tensor& x) const {
  VLV_CHECK(x.dim() == 4, ErrorCode::Shape, "attention block: input must be [N, C, H, W], got ", x.desc());
  int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  Tensor tokens = ops::permute(ops::reshape(group_norm(x), {n, c, h * wd}), {0, 2, 1});  // [N, HW, C]
  Tensor a = ops::attention(split_heads(q(tokens), heads), split_heads(k(tokens), heads),
                            split_heads(v(tokens), heads))[0];
  Tensor y = ops::reshape(ops::permute(out(merge_heads(a)), {0, 2, 1}), {n, c, h, wd});
  y = ops::add(y, x);
  return rescale_output_factor == 1 ? y : ops::scale(y, 1 / rescale_output_factor);
}

void SpatialAttention::collect(NamedTensors& out_params, const std::string& prefix) const {
  auto names = linear_names(legacy_names);
  group_norm.collect(out_params, prefix + ".group_norm");
  q.collect(out_params, prefix + "." + names[0]);
  k.collect(out_params, prefix + "." + names[1]);
  v.collect(out_params, prefix + "." + names[2]);
  out.collect(out_params, prefix + "." + names[3]);
}

}  // namespace vlv::models
