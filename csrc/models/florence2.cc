// Florence2ForConditionalGeneration (Florence-2 remote code, modeling_florence2.py) as VLV
// uses it: the DaViT tower and image projection (davit.h, florence2_image_features.h), the
// token table, and the BART encoder and decoder (bart.h), the decoder driven by learnable
// query embeddings. Keys as in the reference checkpoint: vision_tower.*, image_pos_embed.*,
// visual_temporal_embed.*, image_projection, image_proj_norm.*, language_model.*.
//
// The word embeddings are one tensor: language_model.model.shared, which
// encoder/decoder.embed_tokens always alias (BART passes `shared` to both) and lm_head
// aliases when text_config.tie_word_embeddings; the checkpoint may store the aliases too, and
// they must then hold the same values. lm_head and final_logits_bias serve Florence-2's own
// token decoding (generate, lm_head).
//
// Methods:
//   vision_tower({pixel_values [B,3,H,W]}) -> {features [B, h*w, dim_embed[-1]]}
//   image_features({pixel_values}) -> {image_features [B, tokens, projection_dim]}
//   merge({image_features, input_ids? [B,L]}) -> {inputs_embeds [B, T+L, D] (shared(ids),
//         no embed_scale), attention_mask f32 ones [B, T+L]}
//   encoder({inputs_embeds, attention_mask?}) -> {last_hidden_state}
//   query_decoder({inputs_embeds (queries) [B,Q,D], attention_mask? [B,Q],
//         encoder_hidden_states? [B,S,D], encoder_attention_mask? [B,S]}) -> {last_hidden_state}
//   lm_head({hidden_states [..., D]}) -> {logits [..., V]} (lm_head + final_logits_bias)
//   generate({pixel_values, input_ids [B,L], attention_mask? [B,L]}, options) -> {ids [B*n, T],
//         sequences_scores? (beam search)}: Florence2ForConditionalGeneration.generate (see
//         florence2_generate.h); options as generation.h's, defaulting to text_config's
//         generation fields (max_new_tokens = max_length - 1; eos_token_id -1: none). The reference drops the prompt's
//         attention_mask (its encoder sees every token); vlv honours one when given.
#include <cmath>
#include <cstring>
#include <optional>

#include "autograd/autograd.h"
#include "models/bart.h"
#include "models/davit.h"
#include "models/florence2_config.h"
#include "models/florence2_generate.h"
#include "models/florence2_image_features.h"

namespace vlv::models {

namespace {

class Florence2Model : public Model {
 public:
  Florence2Model(const Florence2Config& c, const WeightBuilder& vb) {
    const DavitVisionConfig& vc = c.vision_config;
    tower_.emplace(vc, vb.at("vision_tower"));
    projection_.emplace(vc, vb, tower_->dim_out());

    const Florence2LanguageConfig& tc = c.text_config;
    dim_ = tc.d_model;
    vocab_ = tc.vocab_size;
    const std::string act = fused_activation(tc.activation_function, vb.source());
    BartStackConfig enc{
        dim_, tc.encoder_attention_heads, tc.encoder_ffn_dim, tc.encoder_layers, tc.max_position_embeddings, act};
    BartStackConfig dec{
        dim_, tc.decoder_attention_heads, tc.decoder_ffn_dim, tc.decoder_layers, tc.max_position_embeddings, act};
    const bool tied = tc.tie_word_embeddings;
    // scale_embedding scales embed_tokens(input_ids) only, i.e. the decoder tokens of generate;
    // the other methods take embeddings, and merge uses the plain `shared` table as the
    // reference does.
    if (tc.scale_embedding) embed_scale_ = std::sqrt(double(dim_));
    read_generation_defaults(tc);

    const WeightBuilder lm = vb.at("language_model");
    shared_ = lm.take("model.shared.weight", {vocab_, dim_});
    take_alias(lm, "model.encoder.embed_tokens.weight");
    take_alias(lm, "model.decoder.embed_tokens.weight");
    // VLV's SDModel state dict stores an lm_head that differs from `shared` although the config
    // ties them (the official code unties it): a differing stored lm_head is its own tensor.
    if (tied && !(lm.has("lm_head.weight") && differs_from_shared(lm, "lm_head.weight")))
      take_alias(lm, "lm_head.weight");
    else lm_head_ = lm.take("lm_head.weight", {vocab_, dim_});
    if (!lm_head_.defined()) lm_head_ = shared_;
    final_logits_bias_ = lm.take("final_logits_bias", {1, vocab_});
    encoder_.emplace(enc, lm.at("model.encoder"), false);
    decoder_.emplace(dec, lm.at("model.decoder"), true);
  }

  NamedTensors run(const std::string& method, const NamedTensors& in, const Attrs& options) override {
    if (method == "vision_tower") {
      int64_t h, w;
      return {{"features", tower_->forward(require_input(in, "pixel_values", "florence2.vision_tower"), &h, &w)}};
    }
    if (method == "image_features") return {{"image_features", image_features(in)}};
    if (method == "merge") return merge(in);
    if (method == "encoder")
      return {{"last_hidden_state", encoder_->encode(require_input(in, "inputs_embeds", "florence2.encoder"),
                                                     find_input(in, "attention_mask"))}};
    if (method == "query_decoder")
      return {{"last_hidden_state",
               decoder_->decode(require_input(in, "inputs_embeds", "florence2.query_decoder"),
                                find_input(in, "attention_mask"), find_input(in, "encoder_hidden_states"),
                                find_input(in, "encoder_attention_mask"))}};
    if (method == "lm_head") return {{"logits", lm_head(require_input(in, "hidden_states", "florence2.lm_head"))}};
    if (method == "generate") return generate(in, options);
    fail(ErrorCode::Arg, "florence2: unknown method '", method,
         "' (vision_tower, image_features, merge, encoder, query_decoder, lm_head, generate)");
  }

 private:
  bool differs_from_shared(const WeightBuilder& lm, const std::string& name) const {
    const Tensor t = lm.take_unlisted(name, {vocab_, dim_}).to(Device::CPU), s = shared_.to(Device::CPU);
    return std::memcmp(t.data<float>(), s.data<float>(), t.nbytes()) != 0;
  }

  // A name of the shared table (listed as a parameter under it). A stored copy under that
  // name is used (it is the same tensor) if it holds the same values.
  void take_alias(const WeightBuilder& lm, const std::string& name) {
    lm.alias(name, shared_);
    if (!lm.has(name)) return;
    Tensor t = lm.take_unlisted(name, {vocab_, dim_});
    VLV_CHECK(std::memcmp(t.data<float>(), shared_.data<float>(), t.nbytes()) == 0, ErrorCode::FileFormat, lm.source(),
              ": '", lm.key(name), "' must equal language_model.model.shared.weight (the tied word embeddings)");
  }

  // text_config's generation fields: the defaults of generate()'s options, the special tokens,
  // and the processors vlv does not implement (generate refuses a non-neutral value).
  void read_generation_defaults(const Florence2LanguageConfig& tc) {
    tokens_.decoder_start = tc.decoder_start_token_id;
    tokens_.forced_bos = tc.forced_bos_token_id.value_or(-1);
    tokens_.forced_eos = tc.forced_eos_token_id.value_or(-1);
    if (tc.eos_token_id) defaults_.set("eos_token_id", std::vector<int64_t>{*tc.eos_token_id});
    if (tc.pad_token_id) defaults_.set("pad_token_id", *tc.pad_token_id);
    defaults_.set("max_new_tokens", tc.max_length - 1);
    const std::pair<const char*, const std::optional<int64_t>*> ints[] = {
        {"num_beams", &tc.num_beams},
        {"no_repeat_ngram_size", &tc.no_repeat_ngram_size},
        {"num_return_sequences", &tc.num_return_sequences},
        {"top_k", &tc.top_k}};
    for (const auto& [k, v] : ints)
      if (*v) defaults_.set(k, **v);
    const std::pair<const char*, const std::optional<double>*> reals[] = {
        {"length_penalty", &tc.length_penalty},
        {"repetition_penalty", &tc.repetition_penalty},
        {"temperature", &tc.temperature},
        {"top_p", &tc.top_p}};
    for (const auto& [k, v] : reals)
      if (*v) defaults_.set(k, **v);
    const std::pair<const char*, const std::optional<bool>*> flags[] = {{"early_stopping", &tc.early_stopping},
                                                                        {"do_sample", &tc.do_sample}};
    for (const auto& [k, v] : flags)
      if (*v) defaults_.set(k, int64_t(**v));
    auto neutral = [&](const char* k, const std::optional<double>& v, double n) {
      if (v && *v != n) unsupported_ = std::string(k) + " " + std::to_string(*v);
    };
    neutral("min_length", tc.min_length, 0);
    neutral("num_beam_groups", tc.num_beam_groups, 1);
    neutral("diversity_penalty", tc.diversity_penalty, 0);
    neutral("encoder_no_repeat_ngram_size", tc.encoder_no_repeat_ngram_size, 0);
    neutral("typical_p", tc.typical_p, 1);
    const std::pair<const char*, const RawField*> unsupported[] = {
        {"bad_words_ids", &tc.bad_words_ids},
        {"suppress_tokens", &tc.suppress_tokens},
        {"begin_suppress_tokens", &tc.begin_suppress_tokens},
        {"exponential_decay_length_penalty", &tc.exponential_decay_length_penalty}};
    for (const auto& [k, v] : unsupported)
      if (v->present()) unsupported_ = k;
  }

  Tensor lm_head(const Tensor& h) const {
    VLV_CHECK(h.dim() >= 1 && h.size(h.dim() - 1) == dim_, ErrorCode::Shape,
              "florence2.lm_head: hidden_states must be [..., ", dim_, "], got ", h.desc());
    return ops::linear(h, lm_head_, ops::reshape(final_logits_bias_, {vocab_}));
  }

  NamedTensors generate(const NamedTensors& in, const Attrs& options) {
    VLV_CHECK(unsupported_.empty(), ErrorCode::Arg, "florence2.generate: text_config sets ", unsupported_,
              ", a generation setting vlv does not implement");
    Attrs o;  // the caller's options over text_config's; eos_token_id -1 means none
    for (const Attrs* a : {static_cast<const Attrs*>(&defaults_), &options})
      for (const auto& [k, v] : a->values()) o.set(k, v);
    if (options.has("eos_token_id") && options.ints("eos_token_id") == std::vector<int64_t>{-1}) {
      Attrs kept;
      for (const auto& [k, v] : o.values())
        if (k != "eos_token_id") kept.set(k, v);
      o = kept;
    }
    GenerationOptions go = GenerationOptions::parse(o, "florence2.generate");
    GradModeGuard no_grad(false);
    const Tensor& ids = require_input(in, "input_ids", "florence2.generate");
    NamedTensors merged = merge({{"image_features", image_features(in)}, {"input_ids", ids}});
    Tensor embeds = merged.at("inputs_embeds");
    Tensor mask;
    if (const Tensor* m = find_input(in, "attention_mask")) {
      VLV_CHECK(m->dim() == 2 && m->shape() == ids.shape(), ErrorCode::Shape,
                "florence2.generate: attention_mask must be ", ids.desc(), "-shaped, got ", m->desc());
      int64_t image_tokens = embeds.size(1) - ids.size(1);
      mask = ops::concat({Tensor::full({ids.size(0), image_tokens}, 1.0f), ops::cast(*m, DType::F32)}, 1);
    }
    Tensor states = encoder_->encode(embeds, mask.defined() ? &mask : nullptr);
    Florence2Session session({&*decoder_, shared_, lm_head_, final_logits_bias_, embed_scale_}, states, mask, tokens_);
    // What the processors see: decoder_input_ids = [decoder_start_token_id].
    std::vector<std::vector<int64_t>> prompts(size_t(ids.size(0)), std::vector<int64_t>{tokens_.decoder_start});
    GenerationResult r = vlv::models::generate(session, prompts, go);
    NamedTensors out{{"ids", r.ids}};
    if (r.scores.defined()) out["sequences_scores"] = r.scores;
    return out;
  }

  Tensor image_features(const NamedTensors& in) const {
    int64_t h, w;
    Tensor tokens = tower_->forward(require_input(in, "pixel_values", "florence2.image_features"), &h, &w);
    return (*projection_)(tokens, h, w);
  }

  NamedTensors merge(const NamedTensors& in) const {
    const Tensor& img = require_input(in, "image_features", "florence2.merge");
    VLV_CHECK(img.dim() == 3 && img.size(2) == dim_, ErrorCode::Shape,
              "florence2.merge: image_features must be [B, T, ", dim_, "], got ", img.desc());
    Tensor embeds = img;
    if (const Tensor* ids = find_input(in, "input_ids")) {
      VLV_CHECK(ids->dim() == 2 && ids->size(0) == img.size(0), ErrorCode::Shape,
                "florence2.merge: input_ids must be [", img.size(0), ", L], got ", ids->desc());
      embeds = ops::concat({img, ops::embedding(shared_, *ids)}, 1);
    }
    Tensor mask = Tensor::full({embeds.size(0), embeds.size(1)}, 1.0f);
    return {{"inputs_embeds", embeds}, {"attention_mask", mask}};
  }

  int64_t dim_, vocab_;
  double embed_scale_ = 1.0;
  Florence2Tokens tokens_;
  Attrs defaults_;           // generate()'s option defaults from text_config
  std::string unsupported_;  // a generation field set to something vlv does not implement
  std::optional<DaViT> tower_;
  std::optional<ImageProjection> projection_;
  std::optional<BartStack> encoder_, decoder_;
  Tensor shared_, lm_head_, final_logits_bias_;
};

std::unique_ptr<Model> make_florence2(const Florence2Config& c, const WeightBuilder& vb) {
  return std::make_unique<Florence2Model>(c, vb);
}

}  // namespace

VLV_REGISTER_MODEL("florence2", read_florence2_config, make_florence2);

}  // namespace vlv::models
