// torch.nn's Conv2d and GroupNorm as model building blocks (the convolutional counterparts
// of layers.h): weights taken under the layer's path, applied through the conv2d / group_norm ops
// so autograd runs through them.
#pragma once
#include <string>

#include "models/model.h"
#include "ops/api.h"

namespace vlv::models {

struct Conv2d {
  Tensor weight, bias;  // weight [out, in, k, k]; bias [out] or undefined
  int64_t stride = 1, padding = 0;
  static Conv2d load(const WeightBuilder& vb, int64_t in, int64_t out, int64_t kernel, int64_t stride = 1,
                     int64_t padding = 0, bool has_bias = true);
  Tensor operator()(const Tensor& x) const { return ops::conv2d(x, weight, bias, stride, padding); }
  bool defined() const { return weight.defined(); }
};

struct GroupNorm {
  Tensor weight, bias;
  int64_t groups = 32;
  double eps = 1e-5;
  static GroupNorm load(const WeightBuilder& vb, int64_t channels, int64_t groups, double eps);
  // silu: SiLU fused after the affine (GroupNorm followed by nonlinearity, as resnets do).
  Tensor operator()(const Tensor& x, bool silu = false) const {
    return ops::group_norm(x, weight, bias, groups, eps, silu);
  }
};

// conv(silu(norm(x))), the resnet block's pattern: on CUDA with no gradient to record, the
// fused group_norm_conv2d (the normalised tensor is never written); elsewhere the two ops
// (the CPU's fused op is the same two kernels, so nothing to win there).
Tensor norm_silu_conv(const GroupNorm& norm, const Conv2d& conv, const Tensor& x);

}  // namespace vlv::models
