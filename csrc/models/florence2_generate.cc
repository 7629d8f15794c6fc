#include "models/florence2_generate.h"

#include <cstring>
#include <limits>

#include "ops/api.h"

namespace vlv::models {

namespace {

// Rows [B, ...] -> [B * repeat, ...], each row repeated `repeat` times consecutively
// (repeat_interleave on dim 0; CPU, generation only).
Tensor repeat_rows(const Tensor& t, int64_t repeat) {
  if (!t.defined() || repeat == 1) return t;
  Shape shape = t.shape();
  const int64_t rows = shape[0];
  shape[0] *= repeat;
  Tensor out = Tensor::empty(shape, t.dtype());
  const size_t row_bytes = t.nbytes() / size_t(rows);
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t r = 0; r < rows * repeat; ++r)
    std::memcpy(dst + size_t(r) * row_bytes, src + size_t(r / repeat) * row_bytes, row_bytes);
  return out;
}

// Every score but `token`'s becomes -inf, token's 0 (transformers' Forced*LogitsProcessor).
void force(Tensor& logits, int64_t token) {
  const int64_t rows = logits.size(0), vocab = logits.size(1);
  VLV_CHECK(token >= 0 && token < vocab, ErrorCode::Arg, "florence2.generate: forced token ", token,
            " is outside the vocabulary of ", vocab);
  float* p = logits.data<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t v = 0; v < vocab; ++v) p[r * vocab + v] = v == token ? 0.0f : -std::numeric_limits<float>::infinity();
}

}  // namespace

Florence2Session::Florence2Session(const Florence2Lm& lm, Tensor encoder_states, Tensor encoder_mask,
                                   const Florence2Tokens& tokens)
    : lm_(lm), encoder_(std::move(encoder_states)), encoder_mask_(std::move(encoder_mask)), tokens_(tokens) {}

Tensor Florence2Session::prefill(int64_t rows_per_prompt, int64_t max_new) {
  repeat_ = rows_per_prompt;
  max_new_ = max_new;
  generated_ = 0;
  Tensor mask = repeat_rows(encoder_mask_, repeat_);
  cache_.emplace(
      lm_.decoder->start_decoding(repeat_rows(encoder_, repeat_), mask.defined() ? &mask : nullptr, 1 + max_new));
  // Every row starts from decoder_start_token_id; the loops want one row per prompt back.
  const int64_t batch = encoder_.size(0);
  Tensor all = next_logits(std::vector<int64_t>(size_t(batch * repeat_), tokens_.decoder_start));
  const int64_t vocab = all.size(1);
  Tensor first = Tensor::empty({batch, vocab}, DType::F32);
  for (int64_t b = 0; b < batch; ++b)
    std::memcpy(first.data<float>() + b * vocab, all.data<float>() + b * repeat_ * vocab,
                size_t(vocab) * sizeof(float));
  return first;
}

Tensor Florence2Session::step(const std::vector<int64_t>& ids) { return next_logits(ids); }

Tensor Florence2Session::next_logits(const std::vector<int64_t>& ids) {
  const int64_t rows = int64_t(ids.size());
  Tensor tok = Tensor::empty({rows, 1}, DType::I64);
  std::copy(ids.begin(), ids.end(), tok.data<int64_t>());
  Tensor x = ops::embedding(lm_.embed_tokens, tok);
  if (lm_.embed_scale != 1.0) x = ops::scale(x, lm_.embed_scale);
  Tensor h = lm_.decoder->decode_step(x, *cache_);
  const int64_t vocab = lm_.lm_head.size(0);
  Tensor logits =
      ops::reshape(ops::linear(h, lm_.lm_head, ops::reshape(lm_.final_logits_bias, {vocab})), {rows, vocab});
  // This step produces generated token number generated_ + 1 (transformers' cur_len).
  ++generated_;
  if (generated_ == 1 && tokens_.forced_bos >= 0) force(logits, tokens_.forced_bos);
  if (generated_ == max_new_ && tokens_.forced_eos >= 0) force(logits, tokens_.forced_eos);
  return logits;
}

void Florence2Session::reorder(const std::vector<int64_t>& src) {
  // Beams never leave their prompt, so the cross-attention K/V rows stay as they are.
  for (size_t n = 0; n < src.size(); ++n)
    VLV_CHECK(src[n] / repeat_ == int64_t(n) / repeat_, ErrorCode::Internal, "florence2.generate: row ", n,
              " cannot continue row ", src[n], " of another prompt");
  cache_->self->reorder(src);
}

}  // namespace vlv::models
