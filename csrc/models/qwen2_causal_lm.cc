// Qwen2ForCausalLM (transformers 4.51.1), kind "qwen2": Qwen2Model (qwen2_model.h: token
// embeddings or inputs_embeds, Qwen2DecoderLayers of Qwen2Attention and Qwen2MLP, final
// RMSNorm), then lm_head (the embedding matrix when tie_word_embeddings). Keys: model.*,
// lm_head.weight.
//
// run("forward", {input_ids | inputs_embeds, attention_mask?, position_ids?}) -> {logits}, and
//   with the option output_hidden_states, hidden_states.<i> for i = 0..num_hidden_layers.
//   attention_mask [B, L] (1 = real token) masks keys on top of the causal mask; positions
//   default to 0..L-1 for every row (pass position_ids for left padding, as generate() does).
// run("loss", {input_ids | inputs_embeds, attention_mask?, position_ids?, labels}) -> {loss}
//   mean cross-entropy of logits[:, :-1] against labels[:, 1:] over targets != -100, [1].
// run("embed", {input_ids}) -> {inputs_embeds}: the token embeddings (what a caller prepends a
//   prefix to).
// inputs_embeds may be bf16: it then runs as transformers runs a bf16 input on f32 weights
//   (qwen2_model.h).
// run("generate", {input_ids | inputs_embeds, attention_mask?}, options) -> {ids, sequences_scores?}
//   see generation.cc; the prompt runs once into a KV cache, then one token per step.
//   Positions follow transformers: cumsum(attention_mask) - 1 (pads at 1).
#include <algorithm>
#include <memory>
#include <numeric>
#include <vector>

#include "autograd/autograd.h"
#include "models/generation.h"
#include "models/qwen2_model.h"

namespace vlv::models {

Qwen2Config read_qwen2_config(const Config& c) {
  // Which architecture the file describes comes first: another one's config fails by its
  // model_type, not by the first Qwen2 field it lacks.
  const std::string type = c.s("model_type", "qwen2");
  VLV_CHECK(type == "qwen2", ErrorCode::Arg, c.source(), ": model_type '", type,
            "' is not a supported causal LM (qwen2)");
  Qwen2Config q = read_fields<Qwen2Config>(c);
  if (!q.num_key_value_heads) q.num_key_value_heads = q.num_attention_heads;
  if (!q.head_dim) q.head_dim = q.num_attention_heads > 0 ? q.hidden_size / q.num_attention_heads : 0;
  return q;
}

void validate(const Qwen2Config& c, const std::string& source) {
  const int64_t heads = c.num_attention_heads, kv_heads = *c.num_key_value_heads, head_dim = *c.head_dim;
  VLV_CHECK(heads > 0 && kv_heads > 0 && heads % kv_heads == 0 && head_dim > 0 && head_dim % 2 == 0,
            ErrorCode::FileFormat, source, ": num_attention_heads ", heads, ", num_key_value_heads ", kv_heads,
            ", head_dim ", head_dim, " do not form grouped heads of even size");
  VLV_CHECK(c.hidden_act == "silu" || c.hidden_act == "swish", ErrorCode::Arg, source, ": hidden_act '", c.hidden_act,
            "' is not supported (Qwen2's MLP is SwiGLU: silu)");
  VLV_CHECK(!c.rope_scaling.present(), ErrorCode::Arg, source, ": rope_scaling is not supported (only null)");
  VLV_CHECK(!c.use_sliding_window, ErrorCode::Arg, source, ": use_sliding_window = true is not supported");
  expect_number(source, "attention_dropout", c.attention_dropout, 0, "dropout is not implemented");
}

namespace {

class Qwen2ForCausalLM : public Model {
 public:
  Qwen2ForCausalLM(const Qwen2Config& c, const WeightBuilder& vb)
      : model_(c, vb.at("model")),
        hidden_(c.hidden_size),
        vocab_(c.vocab_size),
        kv_heads_(*c.num_key_value_heads),
        head_dim_(*c.head_dim) {
    // A checkpoint may carry lm_head.weight even when tied (transformers then uses the
    // embedding); it is not a parameter then.
    lm_head_ = c.tie_word_embeddings ? model_.embed_tokens() : vb.take_matrix("lm_head.weight", {vocab_, hidden_});
    if (c.tie_word_embeddings && vb.has("lm_head.weight")) vb.take_unlisted("lm_head.weight", {vocab_, hidden_});
  }

  NamedTensors run(const std::string& method, const NamedTensors& in, const Attrs& options) override {
    if (method == "forward") {
      std::vector<Tensor> hidden;
      const bool want_hidden = options.b("output_hidden_states", false);
      NamedTensors out{{"logits", forward(in, "qwen2.forward", want_hidden ? &hidden : nullptr)}};
      for (size_t i = 0; i < hidden.size(); ++i) out["hidden_states." + std::to_string(i)] = hidden[i];
      return out;
    }
    if (method == "loss") return {{"loss", loss(in)}};
    if (method == "generate") return generate_method(in, options);
    if (method == "embed") return {{"inputs_embeds", input_hidden(in, "qwen2.embed")}};
    fail(ErrorCode::Arg, "qwen2: unknown method '", method, "' (forward, loss, generate, embed)");
  }

  Tensor lm_head(const Tensor& h) const { return ops::linear(h, lm_head_); }
  Tensor embed(const Tensor& ids) const { return model_.embed(ids); }

 private:
  // The hidden input [B, L, H] from input_ids or inputs_embeds (exactly one).
  Tensor input_hidden(const NamedTensors& in, const char* method) const {
    const Tensor* ids = find_input(in, "input_ids");
    const Tensor* embeds = find_input(in, "inputs_embeds");
    VLV_CHECK((ids != nullptr) != (embeds != nullptr), ErrorCode::Arg, method,
              ": give exactly one of input_ids and inputs_embeds");
    if (ids) {
      VLV_CHECK(ids->dim() == 2 && ids->size(1) > 0, ErrorCode::Shape, method, ": input_ids must be [B, L], got ",
                ids->desc());
      return embed(*ids);
    }
    VLV_CHECK(embeds->dim() == 3 && embeds->size(2) == hidden_ && embeds->size(1) > 0, ErrorCode::Shape, method,
              ": inputs_embeds must be [B, L, ", hidden_, "], got ", embeds->desc());
    return *embeds;
  }

  // attention_mask [B, L] as 0/1 bytes (empty when absent).
  static std::vector<uint8_t> mask_bytes(const NamedTensors& in, int64_t b, int64_t l, const char* method) {
    const Tensor* m = find_input(in, "attention_mask");
    if (!m) return {};
    VLV_CHECK(m->dim() == 2 && m->size(0) == b && m->size(1) == l, ErrorCode::Shape, method,
              ": attention_mask must be [", b, ", ", l, "], got ", m->desc());
    Tensor u = ops::cast(*m, DType::Bool);
    const uint8_t* p = u.data<uint8_t>();
    return std::vector<uint8_t>(p, p + b * l);
  }

  // bool [B, 1, 1, L] key mask, or undefined when every key is real.
  static Tensor key_mask(const std::vector<uint8_t>& mask, int64_t b, int64_t l) {
    if (mask.empty() || std::all_of(mask.begin(), mask.end(), [](uint8_t x) { return x != 0; })) return {};
    Tensor t = Tensor::empty({b, 1, 1, l}, DType::Bool);
    std::copy(mask.begin(), mask.end(), t.data<uint8_t>());
    return t;
  }

  static Tensor default_positions(int64_t b, int64_t l) {
    Tensor p = Tensor::empty({b, l}, DType::I64);
    for (int64_t r = 0; r < b; ++r) std::iota(p.data<int64_t>() + r * l, p.data<int64_t>() + (r + 1) * l, int64_t(0));
    return p;
  }

  Tensor forward(const NamedTensors& in, const char* method, std::vector<Tensor>* hidden = nullptr) const {
    Tensor h = input_hidden(in, method);
    const int64_t b = h.size(0), l = h.size(1);
    Tensor positions;
    if (const Tensor* p = find_input(in, "position_ids")) {
      VLV_CHECK((p->dim() == 2 && p->size(0) == b && p->size(1) == l) || (p->dim() == 1 && p->size(0) == l),
                ErrorCode::Shape, method, ": position_ids must be [", b, ", ", l, "] or [", l, "], got ", p->desc());
      VLV_CHECK(p->dtype() == DType::I64 || p->dtype() == DType::I32, ErrorCode::DType, method,
                ": position_ids must be i32 or i64, got ", p->desc());
      positions = *p;
    } else {
      positions = default_positions(b, l);
    }
    Tensor mask = key_mask(mask_bytes(in, b, l, method), b, l);
    return lm_head(model_(h, positions, mask, CacheUse{}, hidden));
  }

  Tensor loss(const NamedTensors& in) const {
    const Tensor& labels = require_input(in, "labels", "qwen2.loss");
    Tensor logits = forward(in, "qwen2.loss");
    const int64_t b = logits.size(0), l = logits.size(1);
    VLV_CHECK(labels.dim() == 2 && labels.size(0) == b && labels.size(1) == l, ErrorCode::Shape,
              "qwen2.loss: labels must be [", b, ", ", l, "], got ", labels.desc());
    VLV_CHECK(labels.dtype() == DType::I64 || labels.dtype() == DType::I32, ErrorCode::DType,
              "qwen2.loss: labels must be i32 or i64, got ", labels.desc());
    VLV_CHECK(l >= 2, ErrorCode::Shape, "qwen2.loss: need at least 2 positions to predict a next token, got ", l);
    // Position t predicts labels[t + 1].
    Tensor lab = labels.to(DType::I64);
    Tensor targets = Tensor::empty({b * (l - 1)}, DType::I64);
    for (int64_t r = 0; r < b; ++r)
      std::copy(lab.data<int64_t>() + r * l + 1, lab.data<int64_t>() + (r + 1) * l,
                targets.data<int64_t>() + r * (l - 1));
    Tensor shifted = ops::reshape(ops::slice(logits, 1, 0, l - 1), {b * (l - 1), vocab_});
    return ops::reshape(ops::cross_entropy(shifted, targets, -100, "mean"), {1});
  }

  NamedTensors generate_method(const NamedTensors& in, const Attrs& options);

  Qwen2Model model_;
  int64_t hidden_, vocab_, kv_heads_, head_dim_;
  Tensor lm_head_;

  friend class Qwen2Session;
};

// One generate() call: the prompt, its mask and positions, and the KV cache.
class Qwen2Session : public CausalDecoder {
 public:
  Qwen2Session(const Qwen2ForCausalLM& model, Tensor prompt, std::vector<uint8_t> mask)
      : m_(model), prompt_(std::move(prompt)), mask_(std::move(mask)) {}

  int64_t batch() const override { return prompt_.size(0); }

  Tensor prefill(int64_t rows_per_prompt, int64_t max_new) override {
    const int64_t b = prompt_.size(0), l = prompt_.size(1);
    repeat_ = rows_per_prompt;
    cache_ = std::make_unique<KvCache>(m_.model_.layer_count(), b * repeat_, m_.kv_heads_, l + max_new, m_.head_dim_);
    // transformers: position_ids = cumsum(mask) - 1, pads at 1.
    Tensor positions = Tensor::empty({b, l}, DType::I64);
    next_pos_.assign(size_t(b * repeat_), 0);
    for (int64_t r = 0; r < b; ++r) {
      int64_t seen = 0;
      for (int64_t j = 0; j < l; ++j) {
        const bool real = mask_.empty() || mask_[size_t(r * l + j)];
        seen += real;
        positions.data<int64_t>()[r * l + j] = real ? seen - 1 : 1;
      }
      for (int64_t k = 0; k < repeat_; ++k) next_pos_[size_t(r * repeat_ + k)] = seen;
    }
    const int64_t at = cache_->advance(l, mask_);
    Tensor h =
        m_.model_(prompt_, positions, Qwen2ForCausalLM::key_mask(mask_, b, l), CacheUse{cache_.get(), at, false});
    return ops::reshape(m_.lm_head(ops::slice(h, 1, l - 1, l)), {b, m_.vocab_});
  }

  Tensor step(const std::vector<int64_t>& ids) override {
    const int64_t n = cache_->rows();
    Tensor tok = Tensor::empty({n, 1}, DType::I64), positions = Tensor::empty({n, 1}, DType::I64);
    for (int64_t r = 0; r < n; ++r) {
      tok.data<int64_t>()[r] = ids[size_t(r)];
      positions.data<int64_t>()[r] = next_pos_[size_t(r)]++;
    }
    const int64_t at = cache_->advance(1);
    Tensor h = m_.model_(m_.embed(tok), positions, cache_->key_mask(), CacheUse{cache_.get(), at, true});
    return ops::reshape(m_.lm_head(h), {n, m_.vocab_});
  }

  void reorder(const std::vector<int64_t>& src) override {
    cache_->reorder(src);
    std::vector<int64_t> pos(next_pos_.size());
    for (size_t r = 0; r < pos.size(); ++r) pos[r] = next_pos_[size_t(src[r])];
    next_pos_ = std::move(pos);
  }

 private:
  const Qwen2ForCausalLM& m_;
  Tensor prompt_;              // hidden states [B, L, H]
  std::vector<uint8_t> mask_;  // [B, L] or empty (all real)
  int64_t repeat_ = 1;
  std::unique_ptr<KvCache> cache_;
  std::vector<int64_t> next_pos_;  // the position of each row's next token
};

NamedTensors Qwen2ForCausalLM::generate_method(const NamedTensors& in, const Attrs& options) {
  GenerationOptions o = GenerationOptions::parse(options, "qwen2.generate");
  GradModeGuard no_grad(false);
  Tensor h = input_hidden(in, "qwen2.generate");
  const int64_t b = h.size(0), l = h.size(1);
  std::vector<std::vector<int64_t>> prompt_ids(static_cast<size_t>(b));
  if (const Tensor* ids = find_input(in, "input_ids")) {
    Tensor i64 = ids->to(DType::I64);
    for (int64_t r = 0; r < b; ++r)
      prompt_ids[size_t(r)].assign(i64.data<int64_t>() + r * l, i64.data<int64_t>() + (r + 1) * l);
  }
  std::vector<uint8_t> mask = mask_bytes(in, b, l, "qwen2.generate");
  Qwen2Session session(*this, h.detach(), std::move(mask));
  GenerationResult r = vlv::models::generate(session, prompt_ids, o);
  NamedTensors out{{"ids", r.ids}};
  if (r.scores.defined()) out["sequences_scores"] = r.scores;
  return out;
}

std::unique_ptr<Model> make_qwen2(const Qwen2Config& c, const WeightBuilder& vb) {
  return std::make_unique<Qwen2ForCausalLM>(c, vb);
}

}  // namespace

VLV_REGISTER_MODEL("qwen2", read_qwen2_config, make_qwen2);

}  // namespace vlv::models
