#include "models/resnet_block2d.h"

namespace vlv::models {

ResnetBlock2D ResnetBlock2D::load(const WeightBuilder& vb, int64_t in, int64_t out, const ResnetOptions& opt) {
  ResnetBlock2D r;
  r.opt = opt;
  r.norm1 = GroupNorm::load(vb.at("norm1"), in, opt.groups, opt.eps);
  r.conv1 = Conv2d::load(vb.at("conv1"), in, out, 3, 1, 1);
  if (opt.temb_channels > 0) r.time_emb_proj = Linear::load(vb.at("time_emb_proj"), opt.temb_channels, out);
  r.norm2 = GroupNorm::load(vb.at("norm2"), out, opt.groups, opt.eps);
  r.conv2 = Conv2d::load(vb.at("conv2"), out, out, 3, 1, 1);
  if (in != out) r.conv_shortcut = Conv2d::load(vb.at("conv_shortcut"), in, out, 1);
  return r;
}

Tensor ResnetBlock2D::operator()(const Tensor& x, const Tensor& temb) const {
  Tensor h = norm_silu_conv(norm1, conv1, x);
  if (time_emb_proj.weight.defined()) {
    Tensor t = time_emb_proj(ops::silu(temb));
    h = ops::add(h, ops::reshape(t, {t.size(0), t.size(1), 1, 1}));
  }
  h = norm_silu_conv(norm2, conv2, h);
  Tensor out = ops::add(conv_shortcut.defined() ? conv_shortcut(x) : x, h);
  return opt.output_scale_factor == 1 ? out : ops::scale(out, 1 / opt.output_scale_factor);
}

}  // namespace vlv::models
