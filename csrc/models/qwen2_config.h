// transformers Qwen2Config (v4.51.1) as vlv reads it (config.json of a Qwen2ForCausalLM
// folder). read_qwen2_config fills the defaults the reference derives: num_key_value_heads
// = num_attention_heads and head_dim = hidden_size / num_attention_heads when absent.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "models/config_fields.h"

namespace vlv::models {

struct Qwen2Config {
  std::string model_type = "qwen2";
  int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0, num_attention_heads = 0;
  std::optional<int64_t> num_key_value_heads, head_dim;  // filled by read_qwen2_config
  std::string hidden_act = "silu";
  int64_t max_position_embeddings = 32768;  // RoPE needs no table: any position works
  double rms_norm_eps = 1e-6, rope_theta = 10000.0;
  RawField rope_scaling;  // only null
  bool use_sliding_window = false, tie_word_embeddings = false;
  double attention_dropout = 0;
  // Token ids for generation (generate()'s defaults on the JS side): an id or a list of ids.
  RawField bos_token_id, eos_token_id, pad_token_id;

  template <class V>
  void fields(V& v) {
    v.optional("model_type", model_type);
    v.required("vocab_size", vocab_size);
    v.required("hidden_size", hidden_size);
    v.required("intermediate_size", intermediate_size);
    v.required("num_hidden_layers", num_hidden_layers);
    v.required("num_attention_heads", num_attention_heads);
    v.optional("num_key_value_heads", num_key_value_heads);
    v.optional("head_dim", head_dim);
    v.optional("hidden_act", hidden_act);
    v.optional("max_position_embeddings", max_position_embeddings);
    v.optional("rms_norm_eps", rms_norm_eps);
    v.optional("rope_theta", rope_theta);
    v.optional("rope_scaling", rope_scaling);
    v.optional("use_sliding_window", use_sliding_window);
    v.optional("tie_word_embeddings", tie_word_embeddings);
    v.optional("attention_dropout", attention_dropout);
    v.optional("bos_token_id", bos_token_id);
    v.optional("eos_token_id", eos_token_id);
    v.optional("pad_token_id", pad_token_id);
  }
  // sliding_window / max_window_layers only act with use_sliding_window (checked false).
  static std::vector<std::string> ignored() {
    return {"architectures",
            "transformers_version",
            "torch_dtype",
            "initializer_range",
            "use_cache",
            "sliding_window",
            "max_window_layers",
            "_name_or_path",
            "_attn_implementation_autoset",
            "output_attentions",
            "output_hidden_states",
            "use_return_dict"};
  }
};

Qwen2Config read_qwen2_config(const Config& c);
void validate(const Qwen2Config& c, const std::string& source);

}  // namespace vlv::models
