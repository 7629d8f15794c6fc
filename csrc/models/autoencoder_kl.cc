// diffusers AutoencoderKL (the Stable Diffusion VAE), registered as "vae".
//   Encoder: conv_in, DownEncoderBlock2D per block_out_channels entry (a downsample after
//     every block but the last), mid block, conv_norm_out + SiLU, conv_out to
//     2 * latent_channels (double_z). Decoder: conv_in, mid block, UpDecoderBlock2D per
//     entry over the reversed channels (layers_per_block + 1 resnets, an upsample after
//     every block but the last), conv_norm_out + SiLU, conv_out. quant_conv / post_quant_conv
//     are 1x1 convs, present unless use_quant_conv / use_post_quant_conv are false.
//
// run("encode", {sample [N, in_channels, H, W], noise?}) -> mean, logvar [N, latent, h, w]:
//   moments = quant_conv(encoder(sample)) split along channels, logvar clamped to [-30, 20];
//   with noise (standard normal, shaped like mean) also latent_sample =
//   mean + exp(0.5 * logvar) * noise (DiagonalGaussianDistribution.sample()).
// run("decode", {latent [N, latent_channels, h, w]}) -> sample: post_quant_conv, decoder.
//   No scaling_factor is applied: pipelines divide by it first.
// run("config", {}) -> scaling_factor, sample_size and shift_factor (when the config sets one)
//   as f32 scalars, for the pipelines that scale latents.
#include <cmath>
#include <vector>

#include "models/autoencoder_kl_config.h"
#include "models/vae_blocks.h"

namespace vlv::models {

namespace {

void check_block_types(const std::vector<std::string>& types, const std::string& source, const std::string& key,
                       const std::string& supported, size_t n) {
  VLV_CHECK(types.size() == n, ErrorCode::FileFormat, source, ": ", key, " has ", types.size(),
            " entries but block_out_channels has ", n);
  for (const std::string& t : types)
    VLV_CHECK(t == supported, ErrorCode::Arg, source, ": ", key, " entry '", t, "' is not supported (only '", supported,
              "')");
}

}  // namespace

AutoencoderKLConfig read_autoencoder_kl_config(const Config& c) { return read_fields<AutoencoderKLConfig>(c); }

void validate(const AutoencoderKLConfig& c, const std::string& source) {
  VLV_CHECK(!c.block_out_channels.empty() && c.layers_per_block > 0, ErrorCode::FileFormat, source,
            ": block_out_channels must be non-empty and layers_per_block positive");
  check_block_types(c.down_block_types, source, "down_block_types", "DownEncoderBlock2D", c.block_out_channels.size());
  check_block_types(c.up_block_types, source, "up_block_types", "UpDecoderBlock2D", c.block_out_channels.size());
  VLV_CHECK(c.act_fn == "silu" || c.act_fn == "swish", ErrorCode::Arg, source, ": act_fn '", c.act_fn,
            "' is not supported (only 'silu')");
}

namespace {

constexpr double kEps = 1e-6;  // every GroupNorm of the VAE (diffusers hard-codes it)

struct Encoder {
  Conv2d conv_in, conv_out;
  std::vector<DownEncoderBlock2D> down_blocks;
  MidBlock2D mid_block;
  GroupNorm conv_norm_out;

  Encoder(const WeightBuilder& vb, int64_t in_channels, int64_t latent_channels, const std::vector<int64_t>& channels,
          int64_t layers, bool mid_attention, const ResnetOptions& opt) {
    conv_in = Conv2d::load(vb.at("conv_in"), in_channels, channels[0], 3, 1, 1);
    for (size_t i = 0; i < channels.size(); ++i)
      down_blocks.push_back(DownEncoderBlock2D::load(vb.at("down_blocks").at(i), i == 0 ? channels[0] : channels[i - 1],
                                                     channels[i], layers, i + 1 < channels.size(), opt));
    mid_block = MidBlock2D::load(vb.at("mid_block"), channels.back(), mid_attention, opt);
    conv_norm_out = GroupNorm::load(vb.at("conv_norm_out"), channels.back(), opt.groups, kEps);
    conv_out = Conv2d::load(vb.at("conv_out"), channels.back(), 2 * latent_channels, 3, 1, 1);
  }

  Tensor operator()(const Tensor& x) const {
    Tensor h = conv_in(x);
    for (const DownEncoderBlock2D& b : down_blocks) h = b(h);
    return conv_out(conv_norm_out(mid_block(h), /*silu=*/true));
  }
};

struct Decoder {
  Conv2d conv_in, conv_out;
  MidBlock2D mid_block;
  std::vector<UpDecoderBlock2D> up_blocks;
  GroupNorm conv_norm_out;

  Decoder(const WeightBuilder& vb, int64_t latent_channels, int64_t out_channels, const std::vector<int64_t>& channels,
          int64_t layers, bool mid_attention, const ResnetOptions& opt) {
    std::vector<int64_t> rev(channels.rbegin(), channels.rend());
    conv_in = Conv2d::load(vb.at("conv_in"), latent_channels, rev[0], 3, 1, 1);
    mid_block = MidBlock2D::load(vb.at("mid_block"), rev[0], mid_attention, opt);
    for (size_t i = 0; i < rev.size(); ++i)
      up_blocks.push_back(UpDecoderBlock2D::load(vb.at("up_blocks").at(i), i == 0 ? rev[0] : rev[i - 1], rev[i],
                                                 layers + 1, i + 1 < rev.size(), opt));
    conv_norm_out = GroupNorm::load(vb.at("conv_norm_out"), channels[0], opt.groups, kEps);
    conv_out = Conv2d::load(vb.at("conv_out"), channels[0], out_channels, 3, 1, 1);
  }

  Tensor operator()(const Tensor& z) const {
    Tensor h = mid_block(conv_in(z));
    for (const UpDecoderBlock2D& b : up_blocks) h = b(h);
    return conv_out(conv_norm_out(h, /*silu=*/true));
  }
};

// torch.clamp(logvar, -30, 20) as logvar * keep + bound with constant keep (1 inside, 0
// outside) and bound (the clamp value outside, 0 inside): exact values, and the gradient
// is torch's (1 inside, 0 outside).
Tensor clamp_logvar(const Tensor& raw) {
  VLV_CHECK(raw.device() == Device::CPU, ErrorCode::Device,
            "vae.encode: the posterior's clamp and exp run on the CPU only (there is no exp/clamp op yet)");
  Tensor keep = Tensor::empty(raw.shape(), DType::F32), bound = Tensor::empty(raw.shape(), DType::F32);
  const float* v = raw.data<float>();
  float *k = keep.data<float>(), *b = bound.data<float>();
  for (int64_t i = 0; i < raw.numel(); ++i) {
    bool inside = v[i] >= -30.f && v[i] <= 20.f;
    k[i] = inside ? 1.f : 0.f;
    b[i] = inside ? 0.f : (v[i] < -30.f ? -30.f : 20.f);
  }
  return ops::add(ops::mul(raw, keep), bound);
}

// mean + exp(0.5 * logvar) * noise. There is no exp op, so std is computed here as a
// constant; when logvar is recorded for autograd, the term (0.5 * std * noise) *
// (logvar - detached logvar) adds exactly zero and carries d/dlogvar = 0.5 * std * noise.
Tensor posterior_sample(const Tensor& mean, const Tensor& logvar, const Tensor& noise) {
  Tensor std_dev = Tensor::empty(logvar.shape(), DType::F32);
  const float* lv = logvar.data<float>();
  float* s = std_dev.data<float>();
  for (int64_t i = 0; i < logvar.numel(); ++i) s[i] = std::exp(0.5f * lv[i]);
  Tensor sample = ops::add(mean, ops::mul(std_dev, noise));
  if (!logvar.requires_grad()) return sample;
  Tensor slope = ops::scale(ops::mul(std_dev, noise.detach()), 0.5);
  return ops::add(sample, ops::mul(slope, ops::sub(logvar, logvar.detach())));
}

Tensor scalar(double v) {
  Tensor t = Tensor::empty({}, DType::F32);
  t.data<float>()[0] = float(v);
  return t;
}

class AutoencoderKL : public Model {
 public:
  AutoencoderKL(const AutoencoderKLConfig& c, const WeightBuilder& vb) {
    in_channels_ = c.in_channels;
    latent_channels_ = c.latent_channels;
    ResnetOptions opt;
    opt.groups = c.norm_num_groups;
    opt.eps = kEps;
    scaling_factor_ = c.scaling_factor;
    sample_size_ = c.sample_size;
    if (c.shift_factor) shift_factor_ = scalar(*c.shift_factor);
    const std::vector<int64_t>& channels = c.block_out_channels;
    const int64_t layers = c.layers_per_block;
    const bool mid_attention = c.mid_block_add_attention;
    encoder_ = std::make_unique<Encoder>(vb.at("encoder"), in_channels_, latent_channels_, channels, layers,
                                         mid_attention, opt);
    decoder_ = std::make_unique<Decoder>(vb.at("decoder"), latent_channels_, c.out_channels, channels, layers,
                                         mid_attention, opt);
    if (c.use_quant_conv)
      quant_conv_ = Conv2d::load(vb.at("quant_conv"), 2 * latent_channels_, 2 * latent_channels_, 1);
    if (c.use_post_quant_conv)
      post_quant_conv_ = Conv2d::load(vb.at("post_quant_conv"), latent_channels_, latent_channels_, 1);
  }

  NamedTensors run(const std::string& method, const NamedTensors& in, const Attrs&) override {
    if (method == "encode") return encode(in);
    if (method == "decode") return decode(in);
    if (method == "config") {
      NamedTensors out{{"scaling_factor", scalar(scaling_factor_)}, {"sample_size", scalar(double(sample_size_))}};
      if (shift_factor_.defined()) out["shift_factor"] = shift_factor_;
      return out;
    }
    fail(ErrorCode::Arg, "vae: unknown method '", method, "' (encode, decode, config)");
  }

 private:
  static void check_image(const Tensor& x, int64_t channels, const char* method, const char* arg) {
    VLV_CHECK(x.dim() == 4 && x.size(1) == channels, ErrorCode::Shape, method, ": ", arg, " must be [N, ", channels,
              ", H, W], got ", x.desc());
    check_dtype(x, DType::F32, method, arg);
  }

  NamedTensors encode(const NamedTensors& in) const {
    const Tensor& x = require_input(in, "sample", "vae.encode");
    check_image(x, in_channels_, "vae.encode", "sample");
    Tensor moments = (*encoder_)(x);
    if (quant_conv_.defined()) moments = quant_conv_(moments);
    Tensors parts = ops::split(moments, 1, {latent_channels_, latent_channels_});
    NamedTensors out{{"mean", parts[0]}, {"logvar", clamp_logvar(parts[1])}};
    if (const Tensor* noise = find_input(in, "noise")) {
      VLV_CHECK(noise->shape() == parts[0].shape(), ErrorCode::Shape, "vae.encode: noise must be shaped like mean ",
                parts[0].desc(), ", got ", noise->desc());
      check_dtype(*noise, DType::F32, "vae.encode", "noise");
      out["latent_sample"] = posterior_sample(out["mean"], out["logvar"], *noise);
    }
    return out;
  }

  NamedTensors decode(const NamedTensors& in) const {
    Tensor z = require_input(in, "latent", "vae.decode");
    check_image(z, latent_channels_, "vae.decode", "latent");
    if (post_quant_conv_.defined()) z = post_quant_conv_(z);
    return {{"sample", (*decoder_)(z)}};
  }

  int64_t in_channels_, latent_channels_, sample_size_;
  double scaling_factor_;
  Tensor shift_factor_;
  std::unique_ptr<Encoder> encoder_;
  std::unique_ptr<Decoder> decoder_;
  Conv2d quant_conv_, post_quant_conv_;
};

std::unique_ptr<Model> make_vae(const AutoencoderKLConfig& c, const WeightBuilder& vb) {
  return std::make_unique<AutoencoderKL>(c, vb);
}

}  // namespace

VLV_REGISTER_MODEL("vae", read_autoencoder_kl_config, make_vae);

}  // namespace vlv::models
