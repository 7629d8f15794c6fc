#include "models/vae_blocks.h"

namespace vlv::models {

namespace {
std::vector<ResnetBlock2D> load_resnets(const WeightBuilder& vb, int64_t in, int64_t out, int64_t layers,
                                        const ResnetOptions& opt) {
  std::vector<ResnetBlock2D> r;
  for (int64_t i = 0; i < layers; ++i)
    r.push_back(ResnetBlock2D::load(vb.at("resnets").at(i), i == 0 ? in : out, out, opt));
  return r;
}

Tensor run_resnets(const std::vector<ResnetBlock2D>& resnets, Tensor x) {
  for (const ResnetBlock2D& r : resnets) x = r(x, Tensor());
  return x;
}
}  // namespace

DownEncoderBlock2D DownEncoderBlock2D::load(const WeightBuilder& vb, int64_t in, int64_t out, int64_t layers,
                                            bool add_downsample, const ResnetOptions& opt) {
  DownEncoderBlock2D b;
  b.resnets = load_resnets(vb, in, out, layers, opt);
  if (add_downsample) b.downsample = Downsample2D::load(vb.at("downsamplers").at(0), out, /*padding=*/0);
  return b;
}

Tensor DownEncoderBlock2D::operator()(Tensor x) const {
  x = run_resnets(resnets, x);
  return downsample ? (*downsample)(x) : x;
}

UpDecoderBlock2D UpDecoderBlock2D::load(const WeightBuilder& vb, int64_t in, int64_t out, int64_t layers,
                                        bool add_upsample, const ResnetOptions& opt) {
  UpDecoderBlock2D b;
  b.resnets = load_resnets(vb, in, out, layers, opt);
  if (add_upsample) b.upsample = Upsample2D::load(vb.at("upsamplers").at(0), out);
  return b;
}

Tensor UpDecoderBlock2D::operator()(Tensor x) const {
  x = run_resnets(resnets, x);
  return upsample ? (*upsample)(x) : x;
}

MidBlock2D MidBlock2D::load(const WeightBuilder& vb, int64_t channels, bool add_attention, const ResnetOptions& opt) {
  MidBlock2D m;
  m.first = ResnetBlock2D::load(vb.at("resnets").at(0), channels, channels, opt);
  if (add_attention)
    m.attention = SpatialAttention::load(vb.at("attentions").at(0), channels, /*heads=*/1, opt.groups, opt.eps,
                                         opt.output_scale_factor);
  m.second = ResnetBlock2D::load(vb.at("resnets").at(1), channels, channels, opt);
  return m;
}

Tensor MidBlock2D::operator()(const Tensor& x) const {
  Tensor h = first(x, Tensor());
  if (attention) h = (*attention)(h);
  return second(h, Tensor());
}

}  // namespace vlv::models
