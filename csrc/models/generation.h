// Token generation for decoder-only language models, following transformers 4.51.1's
// GenerationMixin (greedy, multinomial sampling, beam search). The model side is the
// CausalDecoder interface (prompt once into a KV cache, then one token per step); the
// decoding loops and logits processors live in generation.cc / logits_process.cc.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ops/attrs.h"

namespace vlv::models {

// What a decoding loop needs from a model.
class CausalDecoder {
 public:
  virtual ~CausalDecoder() = default;
  // The prompt's batch size.
  virtual int64_t batch() const = 0;
  // Runs the prompt once and makes room for `rows_per_prompt` sequences per prompt row
  // (consecutive rows, as repeat_interleave) and `max_new` more tokens. Returns the logits
  // of the prompt's last position, f32 [batch, vocab].
  virtual Tensor prefill(int64_t rows_per_prompt, int64_t max_new) = 0;
  // Feeds one token per sequence; returns the next logits, f32 [rows, vocab].
  virtual Tensor step(const std::vector<int64_t>& ids) = 0;
  // Sequence n continues from the previous sequence src[n] (beam search).
  virtual void reorder(const std::vector<int64_t>& src) = 0;
};

struct GenerationOptions {
  int64_t max_new_tokens = 20;
  int64_t num_beams = 1;
  int64_t num_return_sequences = 1;
  double length_penalty = 1.0;
  std::string early_stopping = "false";  // "true", "false" or "never" (transformers' three modes)
  std::vector<int64_t> eos_token_ids;    // empty: none
  int64_t pad_token_id = -1;             // -1: none given
  bool do_sample = false;
  double temperature = 1.0;
  int64_t top_k = 50;
  double top_p = 1.0;
  int64_t seed = 0;
  double repetition_penalty = 1.0;
  int64_t no_repeat_ngram_size = 0;

  // Reads the generate() attributes (E_ARG naming the method on bad values).
  static GenerationOptions parse(const Attrs& attrs, const char* method);
};

struct GenerationResult {
  Tensor ids;     // i64 [batch * num_return_sequences, generated]: new tokens only
  Tensor scores;  // beam search: f32 [batch * num_return_sequences] sequences_scores; else undefined
};

// prompt_ids: the prompt's token ids per prompt row (what repetition_penalty and
// no_repeat_ngram_size see besides the new tokens; empty rows for an inputs_embeds prompt).
GenerationResult generate(CausalDecoder& model, const std::vector<std::vector<int64_t>>& prompt_ids,
                          const GenerationOptions& options);

}  // namespace vlv::models
