#include "models/vae_blocks.h"

namespace vlv::models {

namespace {
std::string resnet_prefix(const std::string& prefix, size_t i) { return prefix + ".resnets." + std::to_string(i); }

std::vector<ResnetBlock2D> load_resnets(Weights& w, const std::string& prefix, int64_t in, int64_t out,
                                        int64_t layers, const ResnetOptions& opt) {
  std::vector<ResnetBlock2D> r;
  for (int64_t i = 0; i < layers; ++i)
    r.push_back(ResnetBlock2D::load(w, resnet_prefix(prefix, size_t(i)), i == 0 ? in : out, out, opt));
  return r;
}

Tensor run_resnets(const std::vector<ResnetBlock2D>& resnets, Tensor x) {
  for (const ResnetBlock2D& r : resnets) x = r(x, Tensor());
  return x;
}

void collect_resnets(const std::vector<ResnetBlock2D>& resnets, NamedTensors& out, const std::string& prefix) {
  for (size_t i = 0; i < resnets.size(); ++i) resnets[i].collect(out, resnet_prefix(prefix, i));
}
}  // namespace

DownEncoderBlock2D DownEncoderBlock2D::load(Weights& w, const std::string& prefix, int64_t in, int64_t out,
                                            int64_t layers, bool add_downsample, const ResnetOptions& opt) {
  DownEncoderBlock2D b;
  b.resnets = load_resnets(w, prefix, in, out, layers, opt);
  if (add_downsample) b.downsample = Downsample2D::load(w, prefix + ".downsamplers.0", out, /*padding=*/0);
  return b;
}

Tensor DownEncoderBlock2D::operator()(Tensor x) const {
  x = run_resnets(resnets, x);
  return downsample ? (*downsample)(x) : x;
}

void DownEncoderBlock2D::collect(NamedTensors& out, const std::string& prefix) const {
  collect_resnets(resnets, out, prefix);
  if (downsample) downsample->conv.collect(out, prefix + ".downsamplers.0.conv");
}

UpDecoderBlock2D UpDecoderBlock2D::load(Weights& w, const std::string& prefix, int64_t in, int64_t out,
                                        int64_t layers, bool add_upsample, const ResnetOptions& opt) {
  UpDecoderBlock2D b;
  b.resnets = load_resnets(w, prefix, in, out, layers, opt);
  if (add_upsample) b.upsample = Upsample2D::load(w, prefix + ".upsamplers.0", out);
  return b;
}

Tensor UpDecoderBlock2D::operator()(Tensor x) const {
  x = run_resnets(resnets, x);
  return upsample ? (*upsample)(x) : x;
}

void UpDecoderBlock2D::collect(NamedTensors& out, const std::string& prefix) const {
  collect_resnets(resnets, out, prefix);
  if (upsample) upsample->conv.collect(out, prefix + ".upsamplers.0.conv");
}

MidBlock2D MidBlock2D::load(Weights& w, const std::string& prefix, int64_t channels, bool add_attention,
                            const ResnetOptions& opt) {
  MidBlock2D m;
  m.first = ResnetBlock2D::load(w, resnet_prefix(prefix, 0), channels, channels, opt);
  if (add_attention)
    m.attention = SpatialAttention::load(w, prefix + ".attentions.0", channels, /*heads=*/1, opt.groups, opt.eps,
                                         opt.output_scale_factor);
  m.second = ResnetBlock2D::load(w, resnet_prefix(prefix, 1), channels, channels, opt);
  return m;
}

Tensor MidBlock2D::operator()(const Tensor& x) const {
  Tensor h = first(x, Tensor());
  if (attention) h = (*attention)(h);
  return second(h, Tensor());
}

void MidBlock2D::collect(NamedTensors& out, const std::string& prefix) const {
  first.collect(out, resnet_prefix(prefix, 0));
  if (attention) attention->collect(out, prefix + ".attentions.0");
  second.collect(out, resnet_prefix(prefix, 1));
}

}  // namespace vlv::models
