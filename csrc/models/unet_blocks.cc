#include "models/unet_blocks.h"

namespace vlv::models {

namespace {

std::string item(const std::string& prefix, const char* list, size_t i) {
  return prefix + "." + list + "." + std::to_string(i);
}

void collect_layers(const std::vector<ResnetBlock2D>& resnets, const std::vector<Transformer2D>& attentions,
                    NamedTensors& out, const std::string& prefix) {
  for (size_t i = 0; i < resnets.size(); ++i) resnets[i].collect(out, item(prefix, "resnets", i));
  for (size_t i = 0; i < attentions.size(); ++i) attentions[i].collect(out, item(prefix, "attentions", i));
}

}  // namespace

UNetDownBlock UNetDownBlock::load(Weights& w, const std::string& prefix, int64_t in, int64_t out,
                                  const BlockOptions& opt, bool downsample, int64_t downsample_padding) {
  UNetDownBlock b;
  for (int64_t i = 0; i < opt.layers; ++i) {
    b.resnets.push_back(ResnetBlock2D::load(w, item(prefix, "resnets", i), i == 0 ? in : out, out, opt.resnet));
    if (opt.attention) b.attentions.push_back(Transformer2D::load(w, item(prefix, "attentions", i), out, opt.transformer));
  }
  if (downsample) b.downsamplers.push_back(Downsample2D::load(w, item(prefix, "downsamplers", 0), out, downsample_padding));
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

void UNetDownBlock::collect(NamedTensors& out, const std::string& prefix) const {
  collect_layers(resnets, attentions, out, prefix);
  for (size_t i = 0; i < downsamplers.size(); ++i) downsamplers[i].conv.collect(out, item(prefix, "downsamplers", i) + ".conv");
}

UNetMidBlock UNetMidBlock::load(Weights& w, const std::string& prefix, int64_t channels, const BlockOptions& opt) {
  UNetMidBlock b;
  b.resnets.push_back(ResnetBlock2D::load(w, item(prefix, "resnets", 0), channels, channels, opt.resnet));
  for (int64_t i = 0; i < opt.layers; ++i) {
    b.attentions.push_back(Transformer2D::load(w, item(prefix, "attentions", i), channels, opt.transformer));
    b.resnets.push_back(ResnetBlock2D::load(w, item(prefix, "resnets", i + 1), channels, channels, opt.resnet));
  }
  return b;
}

Tensor UNetMidBlock::operator()(Tensor h, const BlockContext& ctx) const {
  h = resnets[0](h, ctx.temb);
  for (size_t i = 0; i < attentions.size(); ++i) h = resnets[i + 1](attentions[i](h, ctx.context, ctx.mask), ctx.temb);
  return h;
}

void UNetMidBlock::collect(NamedTensors& out, const std::string& prefix) const {
  collect_layers(resnets, attentions, out, prefix);
}

UNetUpBlock UNetUpBlock::load(Weights& w, const std::string& prefix, int64_t in, int64_t out, int64_t prev,
                              const BlockOptions& opt, bool upsample) {
  UNetUpBlock b;
  for (int64_t i = 0; i < opt.layers; ++i) {
    int64_t skip = i == opt.layers - 1 ? in : out;
    int64_t from = i == 0 ? prev : out;
    b.resnets.push_back(ResnetBlock2D::load(w, item(prefix, "resnets", i), from + skip, out, opt.resnet));
    if (opt.attention) b.attentions.push_back(Transformer2D::load(w, item(prefix, "attentions", i), out, opt.transformer));
  }
  if (upsample) b.upsamplers.push_back(Upsample2D::load(w, item(prefix, "upsamplers", 0), out));
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

void UNetUpBlock::collect(NamedTensors& out, const std::string& prefix) const {
  collect_layers(resnets, attentions, out, prefix);
  for (size_t i = 0; i < upsamplers.size(); ++i) upsamplers[i].conv.collect(out, item(prefix, "upsamplers", i) + ".conv");
}

}  // namespace vlv::models
