// conv2d's geometry from its inputs and attributes, checked once for every backend: shapes,
// stride/padding (an int or [h, w]), groups, bias length, and the output size. Dtypes are
// the backend's to check.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "ops/attrs.h"

namespace vlv {

struct ConvShape {
  int64_t n, cin, h, w;     // x [N, Cin, H, W]
  int64_t cout, kh, kw;     // weight [Cout, Cin/groups, kh, kw]
  int64_t sh, sw, ph, pw;   // stride, padding
  int64_t groups;
  int64_t ho, wo;           // output size
};

// E_ARG / E_SHAPE naming conv2d and the argument at fault.
ConvShape conv_shape(const Tensor& x, const Tensor& w, const Tensor& bias, const Attrs& attrs);

}  // namespace vlv
