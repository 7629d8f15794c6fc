// conv2d's geometry from its inputs and attributes, checked once for every backend: shapes,
// stride/padding (an int or [h, w]), groups, bias length, and the output size. Dtypes are
// the backend's to check.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "ops/attrs.h"

namespace vlv {

struct ConvShape {
  int64_t n, cin, h, w;    // x [N, Cin, H, W]
  int64_t cout, kh, kw;    // weight [Cout, Cin/groups, kh, kw]
  int64_t sh, sw, ph, pw;  // stride, padding
  int64_t groups;
  int64_t ho, wo;  // output size
};

// E_ARG / E_SHAPE naming conv2d and the argument at fault.
ConvShape conv_shape(const Tensor& x, const Tensor& w, const Tensor& bias, const Attrs& attrs);

// group_norm_conv2d's parts (inputs x, norm_weight, norm_bias, weight, bias): the group_norm
// call ({x, norm_weight, norm_bias}; attrs groups = norm_groups, eps, silu) and the conv2d
// call on its output ({weight, bias}; stride, padding, groups). Checks what group_norm would
// and the norm parameters' shape and dtype; E_ARG when a gradient would be recorded (the op
// has no backward rule).
struct GroupNormConv {
  Tensors norm_in;
  Attrs norm;
  Tensor weight, bias;
  Attrs conv;
};
GroupNormConv group_norm_conv_parts(const Tensors& in, const Attrs& attrs);

}  // namespace vlv
