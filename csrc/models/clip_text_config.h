// transformers CLIPTextConfig as vlv reads it (config.json of a CLIPTextModel folder).
#pragma once
#include <string>
#include <vector>

#include "models/config_fields.h"

namespace vlv::models {

struct ClipTextConfig {
  int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0, num_attention_heads = 0,
          max_position_embeddings = 0;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;
  int64_t eos_token_id = 2;
  double attention_dropout = 0, dropout = 0;

  template <class V>
  void fields(V& v) {
    v.required("vocab_size", vocab_size);
    v.required("hidden_size", hidden_size);
    v.required("intermediate_size", intermediate_size);
    v.required("num_hidden_layers", num_hidden_layers);
    v.required("num_attention_heads", num_attention_heads);
    v.required("max_position_embeddings", max_position_embeddings);
    v.optional("hidden_act", hidden_act);
    v.optional("layer_norm_eps", layer_norm_eps);
    v.optional("eos_token_id", eos_token_id);
    v.optional("attention_dropout", attention_dropout);
    v.optional("dropout", dropout);
  }
  // Fields that do not change the computation (ids of other tokens, init, outputs, hub).
  static std::vector<std::string> ignored() {
    return {"architectures",        "model_type",     "transformers_version",         "torch_dtype",
            "bos_token_id",         "pad_token_id",   "initializer_factor",           "initializer_range",
            "projection_dim",       "_name_or_path",  "_attn_implementation_autoset", "output_attentions",
            "output_hidden_states", "use_return_dict"};
  }
};

ClipTextConfig read_clip_text_config(const Config& c);
void validate(const ClipTextConfig& c, const std::string& source);

}  // namespace vlv::models
