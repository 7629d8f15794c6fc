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

#include "models/unet2d_condition_config.h"
#include "models/unet_blocks.h"

namespace vlv::models {

UNet2DConditionConfig read_unet2d_condition_config(const Config& c) {
  UNet2DConditionConfig u = read_fields<UNet2DConditionConfig>(c);
  for (auto* types : {&u.down_block_types, &u.up_block_types})
    for (std::string& t : *types)
      if (t.rfind("UNetRes", 0) == 0) t = t.substr(7);
  return u;
}

namespace {

// act_fn / post-activation names: SiLU is the only one Stable Diffusion uses.
void expect_silu(const std::string& source, const std::string& key, const std::string& a) {
  VLV_CHECK(a == "silu" || a == "swish", ErrorCode::Arg, source, ": field '", key, "' = '", a,
            "' is not supported (only silu)");
}

}  // namespace

void validate(const UNet2DConditionConfig& c, const std::string& source) {
  const size_t n = c.down_block_types.size();
  VLV_CHECK(n > 0 && c.block_out_channels.size() == n && c.up_block_types.size() == n, ErrorCode::FileFormat, source,
            ": down_block_types, up_block_types and block_out_channels must have the same length (", n, ", ",
            c.up_block_types.size(), ", ", c.block_out_channels.size(), ")");
  for (const std::string& t : c.down_block_types)
    VLV_CHECK(t == "CrossAttnDownBlock2D" || t == "DownBlock2D", ErrorCode::Arg, source, ": down block type '", t,
              "' is not supported (CrossAttnDownBlock2D, DownBlock2D)");
  for (const std::string& t : c.up_block_types)
    VLV_CHECK(t == "CrossAttnUpBlock2D" || t == "UpBlock2D", ErrorCode::Arg, source, ": up block type '", t,
              "' is not supported (CrossAttnUpBlock2D, UpBlock2D)");
  expect_silu(source, "act_fn", c.act_fn);
  if (c.timestep_post_act) expect_silu(source, "timestep_post_act", *c.timestep_post_act);
  if (c.time_embedding_act_fn) expect_silu(source, "time_embedding_act_fn", *c.time_embedding_act_fn);
  expect_string(source, "time_embedding_type", c.time_embedding_type, "positional");
  VLV_CHECK(c.norm_num_groups.has_value(), ErrorCode::Arg, source, ": norm_num_groups null is not supported");
  VLV_CHECK(!c.num_attention_heads.present(), ErrorCode::Arg, source,
            ": num_attention_heads is not supported (diffusers rejects it too: attention_head_dim holds the heads)");
  const std::pair<const char*, const IntOrList*> per_block[] = {
      {"attention_head_dim", &c.attention_head_dim},
      {"cross_attention_dim", &c.cross_attention_dim},
      {"layers_per_block", &c.layers_per_block},
      {"transformer_layers_per_block", &c.transformer_layers_per_block}};
  for (const auto& [key, field] : per_block) field->per_block(n, source, key);  // one entry per block
  VLV_CHECK(c.downsample_padding == 0 || c.downsample_padding == 1, ErrorCode::Arg, source, ": downsample_padding ",
            c.downsample_padding, " is not supported (0 or 1)");
  expect_string(source, "resnet_time_scale_shift", c.resnet_time_scale_shift, "default");
  expect_string(source, "attention_type", c.attention_type, "default");
  // A null mid_block_type (no mid block) reads as absent: the mid_block weights are then required.
  expect_string(source, "mid_block_type", c.mid_block_type, "UNetMidBlock2DCrossAttn");
  VLV_CHECK(!c.dual_cross_attention, ErrorCode::Arg, source, ": dual_cross_attention is not supported");
  VLV_CHECK(!c.class_embeddings_concat, ErrorCode::Arg, source, ": class_embeddings_concat is not supported");
  const std::pair<const char*, const RawField*> null_only[] = {
      {"class_embed_type", &c.class_embed_type},
      {"num_class_embeds", &c.num_class_embeds},
      {"addition_embed_type", &c.addition_embed_type},
      {"encoder_hid_dim", &c.encoder_hid_dim},
      {"encoder_hid_dim_type", &c.encoder_hid_dim_type},
      {"time_cond_proj_dim", &c.time_cond_proj_dim},
      {"cross_attention_norm", &c.cross_attention_norm},
      {"reverse_transformer_layers_per_block", &c.reverse_transformer_layers_per_block}};
  for (const auto& [key, field] : null_only) expect_null(source, key, *field);
  expect_number(source, "dropout", c.dropout, 0, "dropout is not implemented");
}

namespace {

class UNet2DConditionModel : public Model {
 public:
  UNet2DConditionModel(const UNet2DConditionConfig& c, const WeightBuilder& vb) {
    const size_t n = c.down_block_types.size();
    const std::vector<int64_t>& channels = c.block_out_channels;
    in_channels_ = c.in_channels;
    center_ = c.center_input_sample;
    flip_ = c.flip_sin_to_cos;
    freq_shift_ = c.freq_shift;
    post_act_ = c.timestep_post_act.has_value();
    embed_act_ = c.time_embedding_act_fn.has_value();
    const int64_t groups = *c.norm_num_groups;
    const double eps = c.norm_eps;
    const std::string& source = vb.source();
    std::vector<int64_t> heads = c.attention_head_dim.per_block(n, source, "attention_head_dim");
    std::vector<int64_t> cross = c.cross_attention_dim.per_block(n, source, "cross_attention_dim");
    std::vector<int64_t> layers = c.layers_per_block.per_block(n, source, "layers_per_block");
    std::vector<int64_t> tlayers = c.transformer_layers_per_block.per_block(n, source, "transformer_layers_per_block");
    const int64_t time_dim = c.time_embedding_dim.value_or(channels[0] * 4);
    const int64_t conv_in_k = c.conv_in_kernel, conv_out_k = c.conv_out_kernel;

    t_dim_ = channels[0];
    conv_in_ = Conv2d::load(vb.at("conv_in"), in_channels_, channels[0], conv_in_k, 1, (conv_in_k - 1) / 2);
    linear_1_ = Linear::load(vb.at("time_embedding.linear_1"), t_dim_, time_dim);
    linear_2_ = Linear::load(vb.at("time_embedding.linear_2"), time_dim, time_dim);

    auto options = [&](size_t i, int64_t n_layers, bool attention, double scale) {
      BlockOptions o;
      o.layers = n_layers;
      o.resnet = {time_dim, groups, eps, scale};
      o.attention = attention;
      o.transformer = {heads[i], tlayers[i], cross[i], groups, c.use_linear_projection, c.only_cross_attention};
      return o;
    };
    for (size_t i = 0; i < n; ++i) {
      int64_t in = i == 0 ? channels[0] : channels[i - 1];
      down_.push_back(UNetDownBlock::load(vb.at("down_blocks").at(i), in, channels[i],
                                          options(i, layers[i], c.down_block_types[i] == "CrossAttnDownBlock2D", 1),
                                          i + 1 < n, c.downsample_padding));
    }
    BlockOptions mid = options(n - 1, 1, true, c.mid_block_scale_factor);
    mid.transformer.only_cross_attention = false;  // UNetMidBlock2DCrossAttn does not take it
    mid_ = UNetMidBlock::load(vb.at("mid_block"), channels[n - 1], mid);
    for (size_t i = 0; i < n; ++i) {
      size_t r = n - 1 - i;  // the per-block lists, reversed
      int64_t prev = channels[std::min(r + 1, n - 1)];
      int64_t in = channels[r == 0 ? 0 : r - 1];
      up_.push_back(UNetUpBlock::load(vb.at("up_blocks").at(i), in, channels[r], prev,
                                      options(r, layers[r] + 1, c.up_block_types[i] == "CrossAttnUpBlock2D", 1),
                                      i + 1 < n));
    }
    upsamplers_ = int64_t(n) - 1;
    norm_out_ = GroupNorm::load(vb.at("conv_norm_out"), channels[0], groups, eps);
    conv_out_ = Conv2d::load(vb.at("conv_out"), channels[0], c.out_channels, conv_out_k, 1, (conv_out_k - 1) / 2);
    cross_dim_ = cross[0];
  }

  NamedTensors run(const std::string& method, const NamedTensors& in, const Attrs&) override {
    VLV_CHECK(method == "forward", ErrorCode::Arg, "unet: unknown method '", method, "' (forward)");
    const Tensor& sample = require_input(in, "sample", "unet.forward");
    const Tensor& timestep = require_input(in, "timestep", "unet.forward");
    const Tensor& context = require_input(in, "encoder_hidden_states", "unet.forward");
    VLV_CHECK(sample.dim() == 4 && sample.size(1) == in_channels_, ErrorCode::Shape,
              "unet.forward: sample must be [B, ", in_channels_, ", H, W], got ", sample.desc());
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
    for (int64_t d : {sample.size(2), sample.size(3)})
      upsample_to_skip = upsample_to_skip || d % (int64_t(1) << upsamplers_) != 0;

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

std::unique_ptr<Model> make_unet(const UNet2DConditionConfig& c, const WeightBuilder& vb) {
  return std::make_unique<UNet2DConditionModel>(c, vb);
}

}  // namespace

VLV_REGISTER_MODEL("unet", read_unet2d_condition_config, make_unet);

}  // namespace vlv::models
