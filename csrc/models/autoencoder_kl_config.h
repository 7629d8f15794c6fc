// diffusers AutoencoderKL's config as vlv reads it (config.json of a vae/ folder); names and
// defaults as diffusers v0.33.1.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "models/config_fields.h"

namespace vlv::models {

struct AutoencoderKLConfig {
  int64_t in_channels = 3, out_channels = 3;
  std::vector<std::string> down_block_types, up_block_types;
  std::vector<int64_t> block_out_channels;
  int64_t layers_per_block = 1;
  std::string act_fn = "silu";
  int64_t latent_channels = 4, norm_num_groups = 32, sample_size = 32;
  double scaling_factor = 0.18215;
  std::optional<double> shift_factor;
  bool force_upcast = true;  // half-precision pipelines only: vlv computes the VAE in f32
  bool use_quant_conv = true, use_post_quant_conv = true, mid_block_add_attention = true;

  template <class V>
  void fields(V& v) {
    v.optional("in_channels", in_channels);
    v.optional("out_channels", out_channels);
    v.required("down_block_types", down_block_types);
    v.required("up_block_types", up_block_types);
    v.required("block_out_channels", block_out_channels);
    v.optional("layers_per_block", layers_per_block);
    v.optional("act_fn", act_fn);
    v.optional("latent_channels", latent_channels);
    v.optional("norm_num_groups", norm_num_groups);
    v.optional("sample_size", sample_size);
    v.optional("scaling_factor", scaling_factor);
    v.optional("shift_factor", shift_factor);
    v.optional("force_upcast", force_upcast);
    v.optional("use_quant_conv", use_quant_conv);
    v.optional("use_post_quant_conv", use_post_quant_conv);
    v.optional("mid_block_add_attention", mid_block_add_attention);
  }
  static std::vector<std::string> ignored() {
    return {"_class_name", "_diffusers_version", "_name_or_path", "latents_mean", "latents_std"};
  }
};

AutoencoderKLConfig read_autoencoder_kl_config(const Config& c);
void validate(const AutoencoderKLConfig& c, const std::string& source);

}  // namespace vlv::models
