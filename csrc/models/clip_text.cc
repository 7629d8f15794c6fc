// CLIPTextModel (transformers): token + position embeddings, pre-LN encoder layers with
// causal self-attention, final LayerNorm. Keys: text_model.embeddings.*,
// text_model.encoder.layers.N.*, text_model.final_layer_norm.*. Besides input_ids it takes
// inputs_embeds (VLV's CustomCLIPTextModel path: the caption embeddings replace the token
// embeddings; positions are still added).
//
// run("forward", {input_ids | inputs_embeds, attention_mask?}) ->
//   last_hidden_state [B,L,H] (after final_layer_norm), penultimate_hidden_state
//   (hidden_states[-2], no final norm), hidden_states.<i> for every i (0 = embeddings),
//   pooler_output [B,H] when input_ids are given (the eos position: argmax of the ids when
//   eos_token_id == 2, transformers' legacy rule; else the first eos_token_id), and with the
//   option clip_skip = k >= 1, prompt_embeds = final_layer_norm(hidden_states[-(k+1)]) as
//   diffusers' pipelines compute it (clip_skip 0: prompt_embeds = last_hidden_state).
#include <vector>

#include "models/clip_text_config.h"
#include "models/layers.h"

namespace vlv::models {

ClipTextConfig read_clip_text_config(const Config& c) { return read_fields<ClipTextConfig>(c); }

void validate(const ClipTextConfig& c, const std::string& source) {
  fused_activation(c.hidden_act, source);
  VLV_CHECK(c.num_attention_heads > 0 && c.hidden_size % c.num_attention_heads == 0, ErrorCode::FileFormat, source,
            ": hidden_size ", c.hidden_size, " is not a multiple of num_attention_heads ", c.num_attention_heads);
  expect_number(source, "attention_dropout", c.attention_dropout, 0, "dropout is not implemented");
  expect_number(source, "dropout", c.dropout, 0, "dropout is not implemented");
}

namespace {

struct ClipLayer {
  LayerNorm ln1, ln2;
  Linear q, k, v, out, fc1, fc2;
};

class ClipTextModel : public Model {
 public:
  ClipTextModel(const ClipTextConfig& c, const WeightBuilder& vb) {
    hidden_ = c.hidden_size;
    heads_ = c.num_attention_heads;
    layers_n_ = c.num_hidden_layers;
    const int64_t inter = c.intermediate_size;
    vocab_ = c.vocab_size;
    positions_ = c.max_position_embeddings;
    eos_ = c.eos_token_id;
    act_ = fused_activation(c.hidden_act, vb.source());
    const double eps = c.layer_norm_eps;

    const WeightBuilder text = vb.at("text_model");
    token_embedding_ = text.take("embeddings.token_embedding.weight", {vocab_, hidden_});
    position_embedding_ = text.take("embeddings.position_embedding.weight", {positions_, hidden_});
    for (int64_t i = 0; i < layers_n_; ++i) {
      const WeightBuilder l = text.at("encoder.layers").at(i);
      ClipLayer L;
      L.ln1 = LayerNorm::load(l.at("layer_norm1"), hidden_, eps);
      L.ln2 = LayerNorm::load(l.at("layer_norm2"), hidden_, eps);
      L.q = Linear::load(l.at("self_attn.q_proj"), hidden_, hidden_);
      L.k = Linear::load(l.at("self_attn.k_proj"), hidden_, hidden_);
      L.v = Linear::load(l.at("self_attn.v_proj"), hidden_, hidden_);
      L.out = Linear::load(l.at("self_attn.out_proj"), hidden_, hidden_);
      L.fc1 = Linear::load(l.at("mlp.fc1"), hidden_, inter);
      L.fc2 = Linear::load(l.at("mlp.fc2"), inter, hidden_);
      layers_.push_back(std::move(L));
    }
    final_ln_ = LayerNorm::load(text.at("final_layer_norm"), hidden_, eps);
  }

  NamedTensors run(const std::string& method, const NamedTensors& in, const Attrs& options) override {
    VLV_CHECK(method == "forward", ErrorCode::Arg, "clip_text: unknown method '", method, "' (forward)");
    const Tensor* ids = find_input(in, "input_ids");
    const Tensor* embeds = find_input(in, "inputs_embeds");
    VLV_CHECK((ids != nullptr) != (embeds != nullptr), ErrorCode::Arg,
              "clip_text.forward: give exactly one of input_ids and inputs_embeds");
    Tensor h;
    int64_t length;
    if (ids) {
      VLV_CHECK(ids->dim() == 2, ErrorCode::Shape, "clip_text.forward: input_ids must be [B, L], got ", ids->desc());
      length = ids->size(1);
      h = ops::embedding(token_embedding_, *ids);
    } else {
      VLV_CHECK(embeds->dim() == 3 && embeds->size(2) == hidden_, ErrorCode::Shape,
                "clip_text.forward: inputs_embeds must be [B, L, ", hidden_, "], got ", embeds->desc());
      length = embeds->size(1);
      h = *embeds;
    }
    VLV_CHECK(length <= positions_, ErrorCode::Shape, "clip_text.forward: ", length, " tokens but only ", positions_,
              " positions");
    h = ops::add(h, ops::slice(position_embedding_, 0, 0, length));

    Tensor mask;  // key padding: [B, 1, 1, L] bool, true = attend
    if (const Tensor* m = find_input(in, "attention_mask")) {
      VLV_CHECK(m->dim() == 2 && m->size(1) == length && m->size(0) == h.size(0), ErrorCode::Shape,
                "clip_text.forward: attention_mask must be [B, L], got ", m->desc());
      mask = ops::reshape(ops::cast(*m, DType::Bool), {m->size(0), 1, 1, length});
    }

    NamedTensors out;
    std::vector<Tensor> hidden_states{h};
    for (const ClipLayer& L : layers_) {
      Tensor x = L.ln1(h);
      Tensor q = split_heads(L.q(x), heads_), k = split_heads(L.k(x), heads_), v = split_heads(L.v(x), heads_);
      Tensor a = ops::attention(q, k, v, mask, /*causal=*/true)[0];
      h = ops::add(h, L.out(merge_heads(a)));
      h = ops::add(h, L.fc2(L.fc1(L.ln2(h), act_)));
      hidden_states.push_back(h);
    }
    Tensor last = final_ln_(h);
    out["last_hidden_state"] = last;
    out["penultimate_hidden_state"] = hidden_states[hidden_states.size() - 2];
    for (size_t i = 0; i < hidden_states.size(); ++i) out["hidden_states." + std::to_string(i)] = hidden_states[i];
    if (ids) out["pooler_output"] = pool(last, *ids);
    const int64_t skip = options.i("clip_skip", 0);
    VLV_CHECK(skip >= 0 && skip < int64_t(hidden_states.size()), ErrorCode::Arg, "clip_text.forward: clip_skip ", skip,
              " out of range [0, ", hidden_states.size() - 1, ")");
    out["prompt_embeds"] = skip == 0 ? last : final_ln_(hidden_states[hidden_states.size() - 1 - size_t(skip)]);
    return out;
  }

 private:
  // The hidden state at each row's end token, gathered as rows of [B*L, H].
  Tensor pool(const Tensor& last, const Tensor& ids) const {
    Tensor ids64 = ids.dtype() == DType::I64 ? ids : ids.to(DType::I64);
    int64_t b = ids64.size(0), l = ids64.size(1);
    const int64_t* id = ids64.data<int64_t>();
    Tensor rows = Tensor::empty({b}, DType::I64);
    for (int64_t r = 0; r < b; ++r) {
      int64_t at = 0;
      if (eos_ == 2) {
        for (int64_t j = 1; j < l; ++j)
          if (id[r * l + j] > id[r * l + at]) at = j;
      } else {
        while (at < l - 1 && id[r * l + at] != eos_) ++at;
      }
      rows.data<int64_t>()[r] = r * l + at;
    }
    return ops::embedding(ops::reshape(last, {b * l, hidden_}), rows);
  }

  int64_t hidden_, heads_, layers_n_, vocab_, positions_, eos_;
  std::string act_;
  Tensor token_embedding_, position_embedding_;
  std::vector<ClipLayer> layers_;
  LayerNorm final_ln_;
};

std::unique_ptr<Model> make_clip_text(const ClipTextConfig& c, const WeightBuilder& vb) {
  return std::make_unique<ClipTextModel>(c, vb);
}

}  // namespace

VLV_REGISTER_MODEL("clip_text", read_clip_text_config, make_clip_text);

}  // namespace vlv::models
