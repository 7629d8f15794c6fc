// Florence-2's config (the remote code's Florence2Config with its vision_config, a DaViT,
// and text_config, a BART-style Florence2LanguageConfig) as vlv reads it. Names and
// defaults as the reference's; text_config's generation fields (only read when set) give
// generate()'s defaults.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "models/config_fields.h"

namespace vlv::models {

// PretrainedConfig fields that only concern generation, training bookkeeping, outputs or the
// hub (present in the top-level config and in both sub-configs), plus `extra`.
std::vector<std::string> florence2_generic_fields(std::vector<std::string> extra);

struct Florence2PosEmbedConfig {  // vision_config.image_pos_embed
  std::string type = "learned_abs_2d";
  int64_t max_pos_embeddings = 0;
  template <class V>
  void fields(V& v) {
    v.optional("type", type);
    v.required("max_pos_embeddings", max_pos_embeddings);
  }
  static std::vector<std::string> ignored() { return {}; }
};

struct Florence2TemporalEmbedConfig {  // vision_config.visual_temporal_embedding
  std::string type = "COSINE";
  int64_t max_temporal_embeddings = 0;
  template <class V>
  void fields(V& v) {
    v.optional("type", type);
    v.required("max_temporal_embeddings", max_temporal_embeddings);
  }
  static std::vector<std::string> ignored() { return {}; }
};

struct DavitVisionConfig {  // vision_config
  std::string model_type = "davit";
  std::vector<int64_t> dim_embed, depths, num_heads, num_groups, patch_size, patch_stride, patch_padding;
  std::vector<bool> patch_prenorm;
  int64_t window_size = 0, projection_dim = 0;
  std::vector<std::string> image_feature_source;
  Florence2PosEmbedConfig image_pos_embed;
  Florence2TemporalEmbedConfig visual_temporal_embedding;

  template <class V>
  void fields(V& v) {
    v.optional("model_type", model_type);
    v.required("dim_embed", dim_embed);
    v.required("depths", depths);
    v.required("num_heads", num_heads);
    v.required("num_groups", num_groups);
    v.required("patch_size", patch_size);
    v.required("patch_stride", patch_stride);
    v.required("patch_padding", patch_padding);
    v.required("patch_prenorm", patch_prenorm);
    v.required("window_size", window_size);
    v.required("projection_dim", projection_dim);
    v.required("image_feature_source", image_feature_source);
    v.sub("image_pos_embed", image_pos_embed);
    v.sub("visual_temporal_embedding", visual_temporal_embedding);
  }
  // drop_path_rate: stochastic depth, identity in eval; enable_checkpoint: memory only.
  static std::vector<std::string> ignored() {
    return florence2_generic_fields({"drop_path_rate", "enable_checkpoint", "tie_word_embeddings"});
  }
};

struct Florence2LanguageConfig {  // text_config
  std::string model_type = "florence2_language";
  int64_t vocab_size = 0, d_model = 0, max_position_embeddings = 0;
  int64_t encoder_layers = 0, encoder_attention_heads = 0, encoder_ffn_dim = 0;
  int64_t decoder_layers = 0, decoder_attention_heads = 0, decoder_ffn_dim = 0;
  std::string activation_function = "gelu";
  bool tie_word_embeddings = true;
  // Scales embed_tokens(input_ids) only, i.e. the decoder tokens of generate.
  bool scale_embedding = false;
  // Generation: special tokens and generate()'s defaults.
  int64_t decoder_start_token_id = 2, max_length = 20;
  std::optional<int64_t> forced_bos_token_id, forced_eos_token_id, eos_token_id, pad_token_id;
  std::optional<int64_t> num_beams, no_repeat_ngram_size, num_return_sequences, top_k;
  std::optional<double> length_penalty, repetition_penalty, temperature, top_p;
  std::optional<bool> early_stopping, do_sample;
  // Processors vlv does not implement: generate refuses a value other than the neutral one.
  std::optional<double> min_length, num_beam_groups, diversity_penalty, encoder_no_repeat_ngram_size, typical_p;
  RawField bad_words_ids, suppress_tokens, begin_suppress_tokens, exponential_decay_length_penalty;

  template <class V>
  void fields(V& v) {
    v.optional("model_type", model_type);
    v.required("vocab_size", vocab_size);
    v.required("d_model", d_model);
    v.required("max_position_embeddings", max_position_embeddings);
    v.required("encoder_layers", encoder_layers);
    v.required("encoder_attention_heads", encoder_attention_heads);
    v.required("encoder_ffn_dim", encoder_ffn_dim);
    v.required("decoder_layers", decoder_layers);
    v.required("decoder_attention_heads", decoder_attention_heads);
    v.required("decoder_ffn_dim", decoder_ffn_dim);
    v.optional("activation_function", activation_function);
    v.optional("tie_word_embeddings", tie_word_embeddings);
    v.optional("scale_embedding", scale_embedding);
    v.optional("decoder_start_token_id", decoder_start_token_id);
    v.optional("forced_bos_token_id", forced_bos_token_id);
    v.optional("forced_eos_token_id", forced_eos_token_id);
    v.optional("eos_token_id", eos_token_id);
    v.optional("pad_token_id", pad_token_id);
    v.optional("max_length", max_length);
    v.optional("num_beams", num_beams);
    v.optional("no_repeat_ngram_size", no_repeat_ngram_size);
    v.optional("num_return_sequences", num_return_sequences);
    v.optional("top_k", top_k);
    v.optional("length_penalty", length_penalty);
    v.optional("repetition_penalty", repetition_penalty);
    v.optional("temperature", temperature);
    v.optional("top_p", top_p);
    v.optional("early_stopping", early_stopping);
    v.optional("do_sample", do_sample);
    v.optional("min_length", min_length);
    v.optional("num_beam_groups", num_beam_groups);
    v.optional("diversity_penalty", diversity_penalty);
    v.optional("encoder_no_repeat_ngram_size", encoder_no_repeat_ngram_size);
    v.optional("typical_p", typical_p);
    v.optional("bad_words_ids", bad_words_ids);
    v.optional("suppress_tokens", suppress_tokens);
    v.optional("begin_suppress_tokens", begin_suppress_tokens);
    v.optional("exponential_decay_length_penalty", exponential_decay_length_penalty);
  }
  // The dropouts and layer drops act in training mode only (vlv runs the reference's eval
  // mode). num_hidden_layers mirrors encoder_layers; normalize_before / add_final_layer_norm
  // are BART-family fields Florence-2's layers never read (always post-LN, no final norm).
  static std::vector<std::string> ignored() {
    return florence2_generic_fields({"dropout", "attention_dropout", "activation_dropout", "classif_dropout",
                                     "classifier_dropout", "encoder_layerdrop", "decoder_layerdrop", "init_std",
                                     "use_cache", "gradient_checkpointing", "num_hidden_layers", "normalize_before",
                                     "add_final_layer_norm", "add_bias_logits"});
  }
};

struct Florence2Config {
  std::string model_type = "florence2";
  DavitVisionConfig vision_config;
  Florence2LanguageConfig text_config;

  template <class V>
  void fields(V& v) {
    v.optional("model_type", model_type);
    v.sub("vision_config", vision_config);
    v.sub("text_config", text_config);
  }
  // The sub-configs govern the modules (the reference builds them from vision_config /
  // text_config); vocab_size and projection_dim here mirror them, ignore_index is the loss's;
  // auto_map points the hub at the remote code's classes.
  static std::vector<std::string> ignored() {
    return florence2_generic_fields(
        {"vocab_size", "projection_dim", "ignore_index", "tie_word_embeddings", "auto_map"});
  }
};

Florence2Config read_florence2_config(const Config& c);
void validate(const Florence2Config& c, const std::string& source);
void validate(const DavitVisionConfig& c, const std::string& source);
void validate(const Florence2LanguageConfig& c, const std::string& source);

}  // namespace vlv::models
