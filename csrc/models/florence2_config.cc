#include "models/florence2_config.h"

#include "models/layers.h"

namespace vlv::models {

std::vector<std::string> florence2_generic_fields(std::vector<std::string> extra) {
  static const std::vector<std::string> generic = {"_name_or_path",
                                                   "add_cross_attention",
                                                   "architectures",
                                                   "bad_words_ids",
                                                   "begin_suppress_tokens",
                                                   "bos_token_id",
                                                   "chunk_size_feed_forward",
                                                   "cross_attention_hidden_size",
                                                   "decoder_start_token_id",
                                                   "diversity_penalty",
                                                   "do_sample",
                                                   "early_stopping",
                                                   "encoder_no_repeat_ngram_size",
                                                   "eos_token_id",
                                                   "exponential_decay_length_penalty",
                                                   "finetuning_task",
                                                   "forced_bos_token_id",
                                                   "forced_eos_token_id",
                                                   "id2label",
                                                   "is_decoder",
                                                   "is_encoder_decoder",
                                                   "label2id",
                                                   "length_penalty",
                                                   "max_length",
                                                   "min_length",
                                                   "no_repeat_ngram_size",
                                                   "num_beam_groups",
                                                   "num_beams",
                                                   "num_return_sequences",
                                                   "output_attentions",
                                                   "output_hidden_states",
                                                   "output_scores",
                                                   "pad_token_id",
                                                   "prefix",
                                                   "problem_type",
                                                   "pruned_heads",
                                                   "remove_invalid_values",
                                                   "repetition_penalty",
                                                   "return_dict",
                                                   "return_dict_in_generate",
                                                   "sep_token_id",
                                                   "suppress_tokens",
                                                   "task_specific_params",
                                                   "temperature",
                                                   "tf_legacy_loss",
                                                   "tie_encoder_decoder",
                                                   "tokenizer_class",
                                                   "top_k",
                                                   "top_p",
                                                   "torch_dtype",
                                                   "torchscript",
                                                   "typical_p",
                                                   "use_bfloat16",
                                                   "transformers_version",
                                                   "_attn_implementation_autoset",
                                                   "use_return_dict"};
  extra.insert(extra.end(), generic.begin(), generic.end());
  return extra;
}

Florence2Config read_florence2_config(const Config& c) { return read_fields<Florence2Config>(c); }

namespace {

// A per-stage list of the vision tower: one non-negative entry per dim_embed entry.
void check_per_stage(const std::vector<int64_t>& v, const std::string& source, const char* key, size_t n) {
  VLV_CHECK(v.size() == n, ErrorCode::FileFormat, source, ": field '", key, "' has ", v.size(),
            " entries, dim_embed has ", n);
  for (int64_t e : v) VLV_CHECK(e >= 0, ErrorCode::FileFormat, source, ": field '", key, "' has a negative entry ", e);
}

}  // namespace

void validate(const DavitVisionConfig& c, const std::string& source) {
  // Florence-2-large's own config.json leaves vision_config's model_type empty.
  if (!c.model_type.empty()) expect_string(source, "model_type", c.model_type, "davit");
  const size_t n = c.dim_embed.size();
  VLV_CHECK(n >= 1, ErrorCode::FileFormat, source, ": dim_embed is empty");
  const std::pair<const char*, const std::vector<int64_t>*> per_stage[] = {
      {"depths", &c.depths},         {"num_heads", &c.num_heads},       {"num_groups", &c.num_groups},
      {"patch_size", &c.patch_size}, {"patch_stride", &c.patch_stride}, {"patch_padding", &c.patch_padding}};
  for (const auto& [key, v] : per_stage) check_per_stage(*v, source, key, n);
  VLV_CHECK(c.patch_prenorm.size() == n, ErrorCode::FileFormat, source, ": field 'patch_prenorm' has ",
            c.patch_prenorm.size(), " entries, dim_embed has ", n);
  VLV_CHECK(c.window_size >= 1, ErrorCode::FileFormat, source, ": window_size must be >= 1, got ", c.window_size);
  for (size_t i = 0; i < n; ++i) {
    const int64_t dim = c.dim_embed[i], heads = c.num_heads[i], groups = c.num_groups[i];
    VLV_CHECK(dim > 0 && heads > 0 && groups > 0 && dim % heads == 0 && dim % groups == 0 && c.patch_stride[i] > 0 &&
                  c.patch_size[i] > 0,
              ErrorCode::FileFormat, source, ": stage ", i, ": dim_embed ", dim, " must be a multiple of num_heads ",
              heads, " and num_groups ", groups, " (patch size and stride >= 1)");
  }
  expect_string(source + " [image_pos_embed]", "type", c.image_pos_embed.type, "learned_abs_2d");
  expect_string(source + " [visual_temporal_embedding]", "type", c.visual_temporal_embedding.type, "COSINE");
  VLV_CHECK(c.visual_temporal_embedding.max_temporal_embeddings >= 1, ErrorCode::FileFormat, source,
            ": max_temporal_embeddings must be >= 1");
  VLV_CHECK(!c.image_feature_source.empty(), ErrorCode::FileFormat, source, ": image_feature_source is empty");
  for (const std::string& s : c.image_feature_source)
    VLV_CHECK(s == "spatial_avg_pool" || s == "temporal_avg_pool" || s == "last_frame", ErrorCode::FileFormat, source,
              ": invalid image_feature_source '", s, "'");
}

void validate(const Florence2LanguageConfig& c, const std::string& source) {
  expect_string(source, "model_type", c.model_type, "florence2_language");
  fused_activation(c.activation_function, source);
  const std::pair<int64_t, int64_t> stacks[] = {{c.encoder_attention_heads, c.encoder_layers},
                                                {c.decoder_attention_heads, c.decoder_layers}};
  for (const auto& [heads, layers] : stacks)
    VLV_CHECK(heads > 0 && c.d_model % heads == 0 && layers >= 0, ErrorCode::FileFormat, source, ": d_model ",
              c.d_model, " is not a multiple of the attention heads ", heads);
}

void validate(const Florence2Config& c, const std::string& source) {
  expect_string(source, "model_type", c.model_type, "florence2");
  validate(c.vision_config, source + " [vision_config]");
  validate(c.text_config, source + " [text_config]");
}

}  // namespace vlv::models
