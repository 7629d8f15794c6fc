#include "models/conv_layers.h"

#include "autograd/autograd.h"

namespace vlv::models {

Conv2d Conv2d::load(const WeightBuilder& vb, int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
                    bool has_bias) {
  Conv2d c;
  c.weight = vb.take("weight", {out, in, kernel, kernel});
  if (has_bias) c.bias = vb.take("bias", {out});
  c.stride = stride;
  c.padding = padding;
  return c;
}

GroupNorm GroupNorm::load(const WeightBuilder& vb, int64_t channels, int64_t groups, double eps) {
  VLV_CHECK(groups > 0 && channels % groups == 0, ErrorCode::FileFormat, vb.source(), ": ", vb.key(), " has ", channels,
            " channels, not a multiple of norm groups ", groups);
  GroupNorm n;
  n.weight = vb.take("weight", {channels});
  n.bias = vb.take("bias", {channels});
  n.groups = groups;
  n.eps = eps;
  return n;
}

Tensor norm_silu_conv(const GroupNorm& norm, const Conv2d& conv, const Tensor& x) {
  bool records = false;
  if (grad_enabled())
    for (const Tensor* t : {&x, &norm.weight, &norm.bias, &conv.weight, &conv.bias})
      records = records || (t->defined() && t->requires_grad());
  if (x.device() != Device::CUDA || records) return conv(norm(x, /*silu=*/true));
  return ops::group_norm_conv2d(x, norm.weight, norm.bias, norm.groups, norm.eps, /*silu=*/true, conv.weight, conv.bias,
                                conv.stride, conv.padding);
}

}  // namespace vlv::models
