// Florence-2's own token generation (the baseline captioner): Florence2LanguageForConditional-
// Generation.generate as transformers 4.51.1 runs it for an encoder-decoder model, through the
// shared decoding loops of generation.h. The encoder runs once (the caller passes its states);
// the decoder starts from decoder_start_token_id and runs one token per step over a
// BartDecodeCache (self-attention KV cache, cross-attention K/V projected once). Logits are
// lm_head(h) + final_logits_bias. The model-side logits processors live here:
// forced_bos_token_id (the first generated token) and forced_eos_token_id (the token that
// reaches max_length = 1 + max_new_tokens), each as transformers applies them: every other
// token's score becomes -inf.
#pragma once
#include <cstdint>
#include <optional>

#include "models/bart.h"
#include "models/generation.h"

namespace vlv::models {

struct Florence2Lm {
  const BartStack* decoder;
  Tensor embed_tokens;       // [V, D] (shared)
  Tensor lm_head;            // [V, D]
  Tensor final_logits_bias;  // [1, V]
  double embed_scale = 1.0;  // sqrt(d_model) with scale_embedding
};

struct Florence2Tokens {
  int64_t decoder_start = 2;
  int64_t forced_bos = -1, forced_eos = -1;  // -1: none
};

class Florence2Session : public CausalDecoder {
 public:
  // encoder_states [B, S, D]; encoder_mask [B, S] or undefined.
  Florence2Session(const Florence2Lm& lm, Tensor encoder_states, Tensor encoder_mask, const Florence2Tokens& tokens);

  int64_t batch() const override { return encoder_.size(0); }
  Tensor prefill(int64_t rows_per_prompt, int64_t max_new) override;
  Tensor step(const std::vector<int64_t>& ids) override;
  void reorder(const std::vector<int64_t>& src) override;

 private:
  // Embeds one token per row, runs a cached step, returns f32 logits [R, V] (forcing applied).
  Tensor next_logits(const std::vector<int64_t>& ids);

  Florence2Lm lm_;
  Tensor encoder_, encoder_mask_;
  Florence2Tokens tokens_;
  std::optional<BartDecodeCache> cache_;
  int64_t repeat_ = 1, max_new_ = 0, generated_ = 0;
};

}  // namespace vlv::models
