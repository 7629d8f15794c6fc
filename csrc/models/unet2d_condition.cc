// diffusers UNet2DConditionModel (Stable Diffusion 1.x / 2.x layout), kind "unet":
//   center_input_sample: x = 2x - 1; emb = time_embedding(time_proj(timestep)) with
//   time_proj = sinusoidal (flip_sin_to_cos, freq_shift) of block_out_channels[0] channels and
//   time_embedding = linear_1, SiLU, linear_2 (+ timestep_post_act / time_embedding_act_fn
//   when "silu"); h = conv_in(x); down blocks (skips stacked); mid block; up blocks (skips
//   popped); conv_out(silu(conv_norm_out(h))).
// attention_head_dim is read as diffusers reads it: the number of heads per block (head size
// = channels / heads); num_attention_heads must be null, as diffusers requires. Spatial sizes
// not divisible by 2^(number of upsamplers) upsample to the skip's size (forward_upsample_size).
// Class/addition embeddings, encoder_hid_proj, GLIGEN, dual cross-attention, scale-shift time
// norm and Fourier time embeddings are rejected at load.
//
// run("forward", {sample [B,Cin,H,W], timestep [B] | [1] | [] (i64/i32/f32),
//                 encoder_hidden_states [B,L,cross_attention_dim],
//                 encoder_attention_mask [B,L] (optional, 1 = keep: bias (1-m)*-10000)})
//   -> {sample [B,Cout,H,W]}
#include <vector>

#include "models/unet_blocks.h"

namespace vlv::models {

namespace {

void expect_null(const Config& c, const std::string& key) {
  VLV_CHECK(!c.has(key), ErrorCode::Arg, c.source(), ": field '", key, "' is not supported (only null)");
}

// act_fn / post-activation names: SiLU is the only one Stable Diffusion uses.
bool is_silu(const Config& c, const std::string& key, bool nullable) {
  if (nullable && !c.has(key)) return false;
  std::string a = c.s(key, "silu");
  VLV_CHECK(a == "silu" || a == "swish", ErrorCode::Arg, c.source(), ": field '", key, "' = '", a,
            "' is not supported (only silu)");
  return true;
}

// down/up_block_types; diffusers' "UNetRes" prefix names the same blocks.
std::vector<std::string> block_types(const Config& c, const std::string& key) {
  std::vector<std::string> types = c.strings(key);
  for (std::string& t : types)
    if (t.rfind("UNetRes", 0) == 0) t = t.substr(7);
  return types;
}

// An int or per-block list; diffusers' default when the config omits it (SD 2.1's hub config
// has no transformer_layers_per_block).
std::vector<int64_t> per_block(const Config& c, const std::string& key, size_t n, int64_t fallback) {
  return c.has(key) ? c.int_or_list(key, n) : std::vector<int64_t>(n, fallback);
}

class UNet2DConditionModel : public Model {
 public:
  UNet2DConditionModel(const Config& c, const WeightBuilder& vb) {
    std::vector<std::string> down_types = block_types(c, "down_block_types");
    std::vector<std::string> up_types = block_types(c, "up_block_types");
    const size_t n = down_types.size();
    std::vector<int64_t> channels = c.ints("block_out_channels");
    VLV_CHECK(n > 0 && channels.size() == n && up_types.size() == n, ErrorCode::FileFormat, c.source(),
              ": down_block_types, up_block_types and block_out_channels must have the same length (", n, ", ",
              up_types.size(), ", ", channels.size(), ")");
    in_channels_ = c.i("in_channels", 4);
    int64_t out_channels = c.i("out_channels", 4);
    center_ = c.b("center_input_sample", false);
    flip_ = c.b("flip_sin_to_cos", true);
    freq_shift_ = c.f("freq_shift", 0);
    is_silu(c, "act_fn", false);
    post_act_ = is_silu(c, "timestep_post_act", true);
    embed_act_ = is_silu(c, "time_embedding_act_fn", true);
    c.expect_string("time_embedding_type", "positional");
    VLV_CHECK(c.has("norm_num_groups"), ErrorCode::Arg, c.source(), ": norm_num_groups null is not supported");
    int64_t groups = c.i("norm_num_groups");
    double eps = c.f("norm_eps", 1e-5);
    VLV_CHECK(!c.has("num_attention_heads"), ErrorCode::Arg, c.source(),
              ": num_attention_heads is not supported (diffusers rejects it too: attention_head_dim holds the heads)");
    std::vector<int64_t> heads = per_block(c, "attention_head_dim", n, 8);
    std::vector<int64_t> cross = per_block(c, "cross_attention_dim", n, 1280);
    std::vector<int64_t> layers = per_block(c, "layers_per_block", n, 2);
    std::vector<int64_t> tlayers = per_block(c, "transformer_layers_per_block", n, 1);
    bool linear_proj = c.b("use_linear_projection", false);
    bool only_cross = c.b("only_cross_attention", false);
    c.b("upcast_attention", false);  // float32 throughout: upcasting changes nothing
    int64_t downsample_padding = c.i("downsample_padding", 1);
    VLV_CHECK(downsample_padding == 0 || downsample_padding == 1, ErrorCode::Arg, c.source(),
              ": downsample_padding ", downsample_padding, " is not supported (0 or 1)");
    double mid_scale = c.f("mid_block_scale_factor", 1);
    c.expect_string("resnet_time_scale_shift", "default");
    c.expect_string("attention_type", "default");
    // A null mid_block_type (no mid block) reads as absent: the mid_block weights are then required.
    c.expect_string("mid_block_type", "UNetMidBlock2DCrossAttn");
    VLV_CHECK(!c.b("dual_cross_attention", false), ErrorCode::Arg, c.source(), ": dual_cross_attention is not supported");
    VLV_CHECK(!c.b("class_embeddings_concat", false), ErrorCode::Arg, c.source(),
              ": class_embeddings_concat is not supported");
    for (const char* key : {"class_embed_type", "num_class_embeds", "addition_embed_type", "encoder_hid_dim",
                            "encoder_hid_dim_type", "time_cond_proj_dim", "cross_attention_norm",
                            "reverse_transformer_layers_per_block"})
      expect_null(c, key);
    c.expect_number("dropout", 0, "dropout is not implemented");
    int64_t conv_in_k = c.i("conv_in_kernel", 3), conv_out_k = c.i("conv_out_kernel", 3);
    int64_t time_dim = c.i("time_embedding_dim", channels[0] * 4);
    c.check_unread({"_class_name", "_diffusers_version", "_name_or_path", "sample_size", "addition_embed_type_num_heads",
                    "addition_time_embed_dim", "projection_class_embeddings_input_dim",
                    "mid_block_only_cross_attention",
                    // Only the blocks vlv rejects (ResnetDownsampleBlock2D, Simple*) read these:
                    "resnet_out_scale_factor", "resnet_skip_time_act"});

    t_dim_ = channels[0];
    conv_in_ = Conv2d::load(vb.at("conv_in"), in_channels_, channels[0], conv_in_k, 1, (conv_in_k - 1) / 2);
    linear_1_ = Linear::load(vb.at("time_embedding.linear_1"), t_dim_, time_dim);
    linear_2_ = Linear::load(vb.at("time_embedding.linear_2"), time_dim, time_dim);

    auto options = [&](size_t i, int64_t n_layers, bool attention, double scale) {
      BlockOptions o;
      o.layers = n_layers;
      o.resnet = {time_dim, groups, eps, scale};
      o.attention = attention;
      o.transformer = {heads[i], tlayers[i], cross[i], groups, linear_proj, only_cross};
      return o;
    };
    for (size_t i = 0; i < n; ++i) {
      const std::string& t = down_types[i];
      VLV_CHECK(t == "CrossAttnDownBlock2D" || t == "DownBlock2D", ErrorCode::Arg, c.source(), ": down block type '", t,
                "' is not supported (CrossAttnDownBlock2D, DownBlock2D)");
      int64_t in = i == 0 ? channels[0] : channels[i - 1];
      down_.push_back(UNetDownBlock::load(vb.at("down_blocks").at(i), in, channels[i],
                                          options(i, layers[i], t == "CrossAttnDownBlock2D", 1), i + 1 < n,
                                          downsample_padding));
    }
    BlockOptions mid = options(n - 1, 1, true, mid_scale);
    mid.transformer.only_cross_attention = false;  // UNetMidBlock2DCrossAttn does not take it
    mid_ = UNetMidBlock::load(vb.at("mid_block"), channels[n - 1], mid);
    for (size_t i = 0; i < n; ++i) {
      const std::string& t = up_types[i];
      VLV_CHECK(t == "CrossAttnUpBlock2D" || t == "UpBlock2D", ErrorCode::Arg, c.source(), ": up block type '", t,
                "' is not supported (CrossAttnUpBlock2D, UpBlock2D)");
      size_t r = n - 1 - i;  // the per-block lists, reversed
      int64_t prev = channels[std::min(r + 1, n - 1)];
      int64_t in = channels[r == 0 ? 0 : r - 1];
      up_.push_back(UNetUpBlock::load(vb.at("up_blocks").at(i), in, channels[r], prev,
                                      options(r, layers[r] + 1, t == "CrossAttnUpBlock2D", 1), i + 1 < n));
    }
    upsamplers_ = int64_t(n) - 1;
    norm_out_ = GroupNorm::load(vb.at("conv_norm_out"), channels[0], groups, eps);
    conv_out_ = Conv2d::load(vb.at("conv_out"), channels[0], out_channels, conv_out_k, 1, (conv_out_k - 1) / 2);
    cross_dim_ = cross[0];
  }

  NamedTensors run(const std::string& method, const NamedTensors& in, const Attrs&) override {
    VLV_CHECK(method == "forward", ErrorCode::Arg, "unet: unknown method '", method, "' (forward)");
    const Tensor& sample = require_input(in, "sample", "unet.forward");
    const Tensor& timestep = require_input(in, "timestep", "unet.forward");
    const Tensor& context = require_input(in, "encoder_hidden_states", "unet.forward");
    VLV_CHECK(sample.dim() == 4 && sample.size(1) == in_channels_, ErrorCode::Shape, "unet.forward: sample must be [B, ",
              in_channels_, ", H, W], got ", sample.desc());
    int64_t b = sample.size(0);
    VLV_CHECK(context.dim() == 3 && context.size(0) == b && context.size(2) == cross_dim_, ErrorCode::Shape,
              "unet.forward: encoder_hidden_states must be [", b, ", L, ", cross_dim_, "], got ", context.desc());
    VLV_CHECK(timestep.dtype() == DType::I64 || timestep.dtype() == DType::I32 || timestep.dtype() == DType::F32,
              ErrorCode::DType, "unet.forward: timestep must be i64, i32 or f32, got ", timestep.desc());
    VLV_CHECK(timestep.dim() <= 1 && (timestep.numel() == b || timestep.numel() == 1), ErrorCode::Shape,
              "unet.forward: timestep must be [", b, "], [1] or a scalar, got ", timestep.desc());

    BlockContext ctx;
    ctx.context = context;
    if (const Tensor* m = find_input(in, "encoder_attention_mask")) {
      VLV_CHECK(m->dim() == 2 && m->size(0) == b && m->size(1) == context.size(1), ErrorCode::Shape,
                "unet.forward: encoder_attention_mask must be [", b, ", ", context.size(1), "], got ", m->desc());
      // (1 - m) * -10000 as an additive bias over the keys.
      ctx.mask = ops::reshape(ops::scale(ops::cast(*m, DType::F32), 10000, -10000), {b, 1, 1, m->size(1)});
    }
    // One timestep for the whole batch: its embedding row repeated (diffusers expands the
    // timesteps), so the result equals passing [B] copies.
    Tensor t_emb = ops::timestep_embedding(ops::reshape(timestep, {timestep.numel()}), t_dim_, flip_, freq_shift_);
    if (t_emb.size(0) != b) t_emb = ops::concat(Tensors(size_t(b), t_emb), 0);
    Tensor emb = linear_2_(linear_1_(t_emb, "silu"));
    if (post_act_) emb = ops::silu(emb);
    if (embed_act_) emb = ops::silu(emb);
    ctx.temb = emb;

    bool upsample_to_skip = false;
    for (int64_t d : {sample.size(2), sample.size(3)}) upsample_to_skip = upsample_to_skip || d % (int64_t(1) << upsamplers_) != 0;

    Tensor h = conv_in_(center_ ? ops::scale(sample, 2, -1) : sample);
    std::vector<Tensor> skips{h};
    for (const UNetDownBlock& d : down_) h = d(h, ctx, skips);
    h = mid_(h, ctx);
    for (const UNetUpBlock& u : up_) h = u(h, ctx, skips, upsample_to_skip);
    return {{"sample", conv_out_(norm_out_(h, /*silu=*/true))}};
  }

 private:
  int64_t in_channels_, t_dim_, cross_dim_, upsamplers_;
  bool center_, flip_, post_act_, embed_act_;
  double freq_shift_;
  Conv2d conv_in_, conv_out_;
  Linear linear_1_, linear_2_;
  std::vector<UNetDownBlock> down_;
  UNetMidBlock mid_;
  std::vector<UNetUpBlock> up_;
  GroupNorm norm_out_;
};

std::unique_ptr<Model> make_unet(const Config& c, const WeightBuilder& vb) {
  return std::make_unique<UNet2DConditionModel>(c, vb);
}

}  // namespace

VLV_REGISTER_MODEL("unet", make_unet);

}  // namespace vlv::models
