// DaViT (Dual Attention Vision Transformer), Florence-2's vision tower, as its
// forward_features_unpool: per stage a ConvEmbed (strided conv patch embedding, LayerNorm
// before or after it) then `depth` pairs of SpatialBlock (window attention) and ChannelBlock
// (channel-group attention). Tokens stay [B, h*w, C], row-major over (h, w). Any image size:
// window attention pads the feature map with zeros at the bottom/right to a multiple of the
// window and crops afterwards, as the reference does.
#pragma once
#include <string>
#include <vector>

#include "models/florence2_config.h"
#include "models/layers.h"

namespace vlv::models {

// Depthwise 3x3 conv (padding 1) used as a residual conditional position encoding.
struct DepthwiseConv {
  Tensor weight, bias;  // [C, 1, 3, 3], [C]
  static DepthwiseConv load(const WeightBuilder& vb, int64_t dim);
};

// PreNorm(LayerNorm, attention) + PreNorm(None, conv) + PreNorm(LayerNorm, Mlp): the parts
// the spatial and channel blocks share.
struct DavitBlock {
  DepthwiseConv conv1, conv2;
  LayerNorm attn_norm, ffn_norm;
  Linear qkv, proj, fc1, fc2;
  int64_t heads = 1;  // spatial: attention heads; channel: channel groups
};

struct ConvEmbed {
  Tensor weight, bias;  // [Cout, Cin, k, k], [Cout]
  LayerNorm norm;       // over Cin when pre_norm, else over Cout
  bool pre_norm = false;
  int64_t stride = 1, padding = 0;
};

struct DavitStage {
  ConvEmbed embed;
  std::vector<DavitBlock> spatial, channel;  // depth of each
};

class DaViT {
 public:
  // The tower of vision_config (depths, dim_embed, num_heads, num_groups,
  // patch_size/stride/padding/prenorm, window_size) with its weights under vb's path.
  DaViT(const DavitVisionConfig& c, const WeightBuilder& vb);

  // pixel_values [B, 3, H, W] -> tokens [B, h*w, dim_out()]; h, w receive the final map size.
  Tensor forward(const Tensor& pixel_values, int64_t* h, int64_t* w) const;
  int64_t dim_out() const { return dims_.back(); }

 private:
  std::vector<int64_t> dims_;
  int64_t window_;
  std::vector<DavitStage> stages_;
};

}  // namespace vlv::models
