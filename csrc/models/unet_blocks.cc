#include "models/unet_blocks.h"

namespace vlv::models {

UNetDownBlock UNetDownBlock::load(const WeightBuilder& vb, int64_t in, int64_t out, const BlockOptions& opt,
                                  bool downsample, int64_t downsample_padding) {
  UNetDownBlock b;
  for (int64_t i = 0; i < opt.layers; ++i) {
    b.resnets.push_back(ResnetBlock2D::load(vb.at("resnets").at(i), i == 0 ? in : out, out, opt.resnet));
    if (opt.attention) b.attentions.push_back(Transformer2D::load(vb.at("attentions").at(i), out, opt.transformer));
  }
  if (downsample) b.downsamplers.push_back(Downsample2D::load(vb.at("downsamplers").at(0), out, downsample_padding));
  return b;
}

Tensor UNetDownBlock::operator()(Tensor h, const BlockContext& ctx, std::vector<Tensor>& skips) const {
  for (size_t i = 0; i < resnets.size(); ++i) {
    h = resnets[i](h, ctx.temb);
    if (!attentions.empty()) h = attentions[i](h, ctx.context, ctx.mask);
    skips.push_back(h);
  }
  for (const Downsample2D& d : downsamplers) {
    h = d(h);
    skips.push_back(h);
  }
  return h;
}

UNetMidBlock UNetMidBlock::load(const WeightBuilder& vb, int64_t channels, const BlockOptions& opt) {
  UNetMidBlock b;
  b.resnets.push_back(ResnetBlock2D::load(vb.at("resnets").at(0), channels, channels, opt.resnet));
  for (int64_t i = 0; i < opt.layers; ++i) {
    b.attentions.push_back(Transformer2D::load(vb.at("attentions").at(i), channels, opt.transformer));
    b.resnets.push_back(ResnetBlock2D::load(vb.at("resnets").at(i + 1), channels, channels, opt.resnet));
  }
  return b;
}

Tensor UNetMidBlock::operator()(Tensor h, const BlockContext& ctx) const {
  h = resnets[0](h, ctx.temb);
  for (size_t i = 0; i < attentions.size(); ++i) h = resnets[i + 1](attentions[i](h, ctx.context, ctx.mask), ctx.temb);
  return h;
}

UNetUpBlock UNetUpBlock::load(const WeightBuilder& vb, int64_t in, int64_t out, int64_t prev, const BlockOptions& opt,
                              bool upsample) {
  UNetUpBlock b;
  for (int64_t i = 0; i < opt.layers; ++i) {
    int64_t skip = i == opt.layers - 1 ? in : out;
    int64_t from = i == 0 ? prev : out;
    b.resnets.push_back(ResnetBlock2D::load(vb.at("resnets").at(i), from + skip, out, opt.resnet));
    if (opt.attention) b.attentions.push_back(Transformer2D::load(vb.at("attentions").at(i), out, opt.transformer));
  }
  if (upsample) b.upsamplers.push_back(Upsample2D::load(vb.at("upsamplers").at(0), out));
  return b;
}

Tensor UNetUpBlock::operator()(Tensor h, const BlockContext& ctx, std::vector<Tensor>& skips,
                               bool upsample_to_skip) const {
  for (size_t i = 0; i < resnets.size(); ++i) {
    VLV_CHECK(!skips.empty(), ErrorCode::Internal, "unet: the skip stack ran out");
    h = ops::concat({h, skips.back()}, 1);
    skips.pop_back();
    h = resnets[i](h, ctx.temb);
    if (!attentions.empty()) h = attentions[i](h, ctx.context, ctx.mask);
  }
  for (const Upsample2D& u : upsamplers) {
    if (upsample_to_skip && !skips.empty()) h = u(h, skips.back().size(2), skips.back().size(3));
    else h = u(h);
  }
  return h;
}

}  // namespace vlv::models
