#include "models/conv_layers.h"

#include "autograd/autograd.h"

namespace vlv::models {

Conv2d Conv2d::load(Weights& w, const std::string& prefix, int64_t in, int64_t out, int64_t kernel, int64_t stride,
                    int64_t padding, bool has_bias) {
  Conv2d c;
  c.weight = w.take(prefix + ".weight", {out, in, kernel, kernel});
  if (has_bias) c.bias = w.take(prefix + ".bias", {out});
  c.stride = stride;
  c.padding = padding;
  return c;
}

void Conv2d::collect(NamedTensors& out, const std::string& prefix) const {
  out[prefix + ".weight"] = weight;
  if (bias.defined()) out[prefix + ".bias"] = bias;
}

GroupNorm GroupNorm::load(Weights& w, const std::string& prefix, int64_t channels, int64_t groups, double eps) {
  VLV_CHECK(groups > 0 && channels % groups == 0, ErrorCode::FileFormat, w.source(), ": ", prefix, " has ", channels,
            " channels, not a multiple of norm groups ", groups);
  GroupNorm n;
  n.weight = w.take(prefix + ".weight", {channels});
  n.bias = w.take(prefix + ".bias", {channels});
  n.groups = groups;
  n.eps = eps;
  return n;
}

void GroupNorm::collect(NamedTensors& out, const std::string& prefix) const {
  out[prefix + ".weight"] = weight;
  out[prefix + ".bias"] = bias;
}

Tensor norm_silu_conv(const GroupNorm& norm, const Conv2d& conv, const Tensor& x) {
  bool records = false;
  if (grad_enabled())
    for (const Tensor* t : {&x, &norm.weight, &norm.bias, &conv.weight, &conv.bias})
      records = records || (t->defined() && t->requires_grad());
  if (x.device() != Device::CUDA || records) return conv(norm(x, /*silu=*/true));
  return ops::group_norm_conv2d(x, norm.weight, norm.bias, norm.groups, norm.eps, /*silu=*/true, conv.weight,
                                conv.bias, conv.stride, conv.padding);
}

}  // namespace vlv::models
