#include "models/layers.h"

namespace vlv::models {

Linear Linear::load(const WeightBuilder& vb, int64_t in, int64_t out, bool has_bias) {
  Linear l;
  l.weight = vb.take_matrix("weight", {out, in});
  if (has_bias) l.bias = vb.take("bias", {out});
  return l;
}

LayerNorm LayerNorm::load(const WeightBuilder& vb, int64_t dim, double eps) {
  LayerNorm n;
  n.weight = vb.take("weight", {dim});
  n.bias = vb.take("bias", {dim});
  n.eps = eps;
  return n;
}

RMSNorm RMSNorm::load(const WeightBuilder& vb, int64_t dim, double eps) {
  RMSNorm n;
  n.weight = vb.take("weight", {dim});
  n.eps = eps;
  return n;
}

Tensor split_heads(const Tensor& x, int64_t heads) {
  int64_t b = x.size(0), l = x.size(1), d = x.size(2) / heads;
  return ops::permute(ops::reshape(x, {b, l, heads, d}), {0, 2, 1, 3});
}

Tensor merge_heads(const Tensor& x) {
  int64_t b = x.size(0), h = x.size(1), l = x.size(2), d = x.size(3);
  return ops::reshape(ops::permute(x, {0, 2, 1, 3}), {b, l, h * d});
}

std::string fused_activation(const std::string& act, const std::string& source) {
  if (act == "gelu") return "gelu";
  if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast") return "gelu_tanh";
  if (act == "quick_gelu") return "quick_gelu";
  if (act == "silu" || act == "swish") return "silu";
  fail(ErrorCode::Arg, source, ": hidden_act '", act, "' is not supported");
}

}  // namespace vlv::models
