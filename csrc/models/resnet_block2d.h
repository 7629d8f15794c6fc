// diffusers ResnetBlock2D (time_embedding_norm "default"):
//   h = conv1(silu(norm1(x))); h += time_emb_proj(silu(temb))[:, :, None, None];
//   h = conv2(silu(norm2(h)));  out = (shortcut(x) + h) / output_scale_factor
// shortcut is a 1x1 conv (conv_shortcut) when the channel count changes, else identity.
// Dropout is identity (inference / frozen use). Keys under the block's path: norm1, conv1,
// time_emb_proj, norm2, conv2, conv_shortcut.
#pragma once
#include <string>

#include "models/conv_layers.h"
#include "models/layers.h"

namespace vlv::models {

struct ResnetOptions {
  int64_t temb_channels = 0;  // 0: no time embedding projection
  int64_t groups = 32;
  double eps = 1e-6;
  double output_scale_factor = 1;
};

struct ResnetBlock2D {
  GroupNorm norm1, norm2;
  Conv2d conv1, conv2, conv_shortcut;  // conv_shortcut undefined when in == out
  Linear time_emb_proj;                // undefined without temb_channels
  ResnetOptions opt;

  static ResnetBlock2D load(const WeightBuilder& vb, int64_t in, int64_t out, const ResnetOptions& opt);
  // x [B, in, H, W]; temb [B or 1, temb_channels] (undefined without temb_channels).
  Tensor operator()(const Tensor& x, const Tensor& temb) const;
};

}  // namespace vlv::models
