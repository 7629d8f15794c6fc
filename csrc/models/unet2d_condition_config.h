// diffusers UNet2DConditionModel's config as vlv reads it (config.json of a unet/ folder).
// Names and defaults as diffusers v0.33.1's register_to_config arguments; fields vlv only
// accepts as null are RawField (kept as written, rejected by validate when set).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "models/config_fields.h"

namespace vlv::models {

struct UNet2DConditionConfig {
  std::optional<int64_t> sample_size;
  int64_t in_channels = 4, out_channels = 4;
  bool center_input_sample = false, flip_sin_to_cos = true;
  double freq_shift = 0;
  std::vector<std::string> down_block_types, up_block_types;  // "UNetRes" prefix stripped
  std::string mid_block_type = "UNetMidBlock2DCrossAttn";
  bool only_cross_attention = false;
  std::vector<int64_t> block_out_channels;
  IntOrList layers_per_block = 2;
  int64_t downsample_padding = 1;
  double mid_block_scale_factor = 1;
  double dropout = 0;
  std::string act_fn = "silu";
  std::optional<int64_t> norm_num_groups;  // diffusers' default is 32; vlv requires it set (validate)
  double norm_eps = 1e-5;
  IntOrList cross_attention_dim = 1280;
  IntOrList transformer_layers_per_block = 1;
  IntOrList attention_head_dim = 8;  // diffusers: the number of heads per block
  RawField num_attention_heads;      // must be null (diffusers rejects it too)
  bool dual_cross_attention = false, use_linear_projection = false, class_embeddings_concat = false,
       upcast_attention = false;
  std::string resnet_time_scale_shift = "default", time_embedding_type = "positional", attention_type = "default";
  std::optional<int64_t> time_embedding_dim;  // null: block_out_channels[0] * 4
  std::optional<std::string> timestep_post_act, time_embedding_act_fn;
  int64_t conv_in_kernel = 3, conv_out_kernel = 3;
  // Only null is supported.
  RawField class_embed_type, num_class_embeds, addition_embed_type, encoder_hid_dim, encoder_hid_dim_type,
      time_cond_proj_dim, cross_attention_norm, reverse_transformer_layers_per_block;

  template <class V>
  void fields(V& v) {
    v.optional("sample_size", sample_size);
    v.optional("in_channels", in_channels);
    v.optional("out_channels", out_channels);
    v.optional("center_input_sample", center_input_sample);
    v.optional("flip_sin_to_cos", flip_sin_to_cos);
    v.optional("freq_shift", freq_shift);
    v.required("down_block_types", down_block_types);
    v.optional("mid_block_type", mid_block_type);
    v.required("up_block_types", up_block_types);
    v.optional("only_cross_attention", only_cross_attention);
    v.required("block_out_channels", block_out_channels);
    v.optional("layers_per_block", layers_per_block);
    v.optional("downsample_padding", downsample_padding);
    v.optional("mid_block_scale_factor", mid_block_scale_factor);
    v.optional("dropout", dropout);
    v.optional("act_fn", act_fn);
    v.optional("norm_num_groups", norm_num_groups);
    v.optional("norm_eps", norm_eps);
    v.optional("cross_attention_dim", cross_attention_dim);
    v.optional("transformer_layers_per_block", transformer_layers_per_block);
    v.optional("attention_head_dim", attention_head_dim);
    v.optional("num_attention_heads", num_attention_heads);
    v.optional("dual_cross_attention", dual_cross_attention);
    v.optional("use_linear_projection", use_linear_projection);
    v.optional("class_embeddings_concat", class_embeddings_concat);
    v.optional("upcast_attention", upcast_attention);
    v.optional("resnet_time_scale_shift", resnet_time_scale_shift);
    v.optional("time_embedding_type", time_embedding_type);
    v.optional("attention_type", attention_type);
    v.optional("time_embedding_dim", time_embedding_dim);
    v.optional("timestep_post_act", timestep_post_act);
    v.optional("time_embedding_act_fn", time_embedding_act_fn);
    v.optional("conv_in_kernel", conv_in_kernel);
    v.optional("conv_out_kernel", conv_out_kernel);
    v.optional("class_embed_type", class_embed_type);
    v.optional("num_class_embeds", num_class_embeds);
    v.optional("addition_embed_type", addition_embed_type);
    v.optional("encoder_hid_dim", encoder_hid_dim);
    v.optional("encoder_hid_dim_type", encoder_hid_dim_type);
    v.optional("time_cond_proj_dim", time_cond_proj_dim);
    v.optional("cross_attention_norm", cross_attention_norm);
    v.optional("reverse_transformer_layers_per_block", reverse_transformer_layers_per_block);
  }
  static std::vector<std::string> ignored() {
    return {"_class_name", "_diffusers_version", "_name_or_path", "addition_embed_type_num_heads",
            "addition_time_embed_dim", "projection_class_embeddings_input_dim", "mid_block_only_cross_attention",
            // Only the blocks vlv rejects (ResnetDownsampleBlock2D, Simple*) read these:
            "resnet_out_scale_factor", "resnet_skip_time_act"};
  }
};

// Reads every field; strips diffusers' "UNetRes" block-type prefix (it names the same blocks).
UNet2DConditionConfig read_unet2d_condition_config(const Config& c);
void validate(const UNet2DConditionConfig& c, const std::string& source);

}  // namespace vlv::models
