// The diffusers blocks of AutoencoderKL's encoder and decoder (no time embedding anywhere;
// resnets are ResnetBlock2D with temb_channels 0, GroupNorm eps 1e-6 as the VAE builds them):
//   DownEncoderBlock2D: `layers` resnets, then Downsample2D ("downsamplers.0", padding 0:
//                       diffusers' asymmetric bottom/right pad) unless it is the last block;
//   UpDecoderBlock2D:   `layers` resnets, then Upsample2D ("upsamplers.0") unless last;
//   UNetMidBlock2D:     resnets.0, [attentions.0], resnets.1 (one layer, as the VAE builds it;
//                       the attention has one head: attention_head_dim = channels).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "models/resampling2d.h"
#include "models/resnet_block2d.h"
#include "models/vae_attention.h"

namespace vlv::models {

struct DownEncoderBlock2D {
  std::vector<ResnetBlock2D> resnets;
  std::optional<Downsample2D> downsample;
  static DownEncoderBlock2D load(const WeightBuilder& vb, int64_t in, int64_t out, int64_t layers, bool add_downsample,
                                 const ResnetOptions& opt);
  Tensor operator()(Tensor x) const;
};

struct UpDecoderBlock2D {
  std::vector<ResnetBlock2D> resnets;
  std::optional<Upsample2D> upsample;
  static UpDecoderBlock2D load(const WeightBuilder& vb, int64_t in, int64_t out, int64_t layers, bool add_upsample,
                               const ResnetOptions& opt);
  Tensor operator()(Tensor x) const;
};

struct MidBlock2D {
  ResnetBlock2D first, second;
  std::optional<SpatialAttention> attention;
  static MidBlock2D load(const WeightBuilder& vb, int64_t channels, bool add_attention, const ResnetOptions& opt);
  Tensor operator()(const Tensor& x) const;
};

}  // namespace vlv::models
