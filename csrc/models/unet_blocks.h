// diffusers' UNet blocks (unet_2d_blocks.py), one struct per role:
//   UNetDownBlock: DownBlock2D (resnets only) or CrossAttnDownBlock2D (a Transformer2D after
//     each resnet); every resnet(+attention) output and the Downsample2D output are pushed
//     onto the skip stack.
//   UNetMidBlock: UNetMidBlock2DCrossAttn: resnet, then (attention, resnet) per layer.
//   UNetUpBlock: UpBlock2D or CrossAttnUpBlock2D: each resnet takes concat(h, skip popped
//     from the stack) along channels; then Upsample2D, to twice the size or, when the caller
//     asks (diffusers' forward_upsample_size), to the size of the next skip on the stack.
#pragma once
#include <string>
#include <vector>

#include "models/resampling2d.h"
#include "models/resnet_block2d.h"
#include "models/transformer2d.h"

namespace vlv::models {

// What every block needs besides its channels; attention is absent for the plain blocks.
struct BlockOptions {
  int64_t layers = 1;
  ResnetOptions resnet;
  bool attention = false;
  TransformerOptions transformer;
};

// The tensors a block computes with besides its input.
struct BlockContext {
  Tensor temb, context, mask;
};

struct UNetDownBlock {
  std::vector<ResnetBlock2D> resnets;
  std::vector<Transformer2D> attentions;
  std::vector<Downsample2D> downsamplers;  // zero or one

  static UNetDownBlock load(const WeightBuilder& vb, int64_t in, int64_t out, const BlockOptions& opt, bool downsample,
                            int64_t downsample_padding);
  Tensor operator()(Tensor h, const BlockContext& ctx, std::vector<Tensor>& skips) const;
};

struct UNetMidBlock {
  std::vector<ResnetBlock2D> resnets;
  std::vector<Transformer2D> attentions;

  static UNetMidBlock load(const WeightBuilder& vb, int64_t channels, const BlockOptions& opt);
  Tensor operator()(Tensor h, const BlockContext& ctx) const;
};

struct UNetUpBlock {
  std::vector<ResnetBlock2D> resnets;
  std::vector<Transformer2D> attentions;
  std::vector<Upsample2D> upsamplers;  // zero or one

  // in: the matching down block's input channels; prev: the channels coming from below.
  static UNetUpBlock load(const WeightBuilder& vb, int64_t in, int64_t out, int64_t prev, const BlockOptions& opt,
                          bool upsample);
  Tensor operator()(Tensor h, const BlockContext& ctx, std::vector<Tensor>& skips, bool upsample_to_skip) const;
};

}  // namespace vlv::models
