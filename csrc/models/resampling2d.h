// diffusers Downsample2D and Upsample2D with use_conv (the UNet's resamplers).
//   Downsample2D: conv 3x3 stride 2 with `padding` (downsample_padding); padding 0 first pads
//     one zero row/column at the bottom/right, as diffusers does. Key: conv.
//   Upsample2D: nearest-neighbour 2x (or to an explicit output size, torch's "nearest" rule
//     src = min(floor(dst * in/out), in - 1) in float), then conv 3x3 pad 1. Key: conv.
#pragma once
#include <string>

#include "models/conv_layers.h"

namespace vlv::models {

struct Downsample2D {
  Conv2d conv;
  static Downsample2D load(const WeightBuilder& vb, int64_t channels, int64_t padding);
  Tensor operator()(const Tensor& x) const;
};

struct Upsample2D {
  Conv2d conv;
  static Upsample2D load(const WeightBuilder& vb, int64_t channels);
  // out_h/out_w <= 0: twice the input size.
  Tensor operator()(const Tensor& x, int64_t out_h = 0, int64_t out_w = 0) const;
};

// torch.nn.functional.interpolate(x, size=(out_h, out_w), mode="nearest") for x [N, C, H, W].
Tensor resize_nearest(const Tensor& x, int64_t out_h, int64_t out_w);

}  // namespace vlv::models
