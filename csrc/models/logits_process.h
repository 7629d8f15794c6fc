// The logits processors and warpers of transformers 4.51.1 that vlv's generate() honours,
// each applied in place to one row of scores (f32 [vocab]) given that row's token history
// (prompt ids + generated ids). Order as transformers builds the list: repetition penalty,
// no-repeat n-gram, then (sampling only) temperature, top-k, top-p.
#pragma once
#include <cstdint>
#include <vector>

namespace vlv::models {

// RepetitionPenaltyLogitsProcessor: every token in `history` gets score * p if negative, else score / p.
void repetition_penalty(float* scores, int64_t vocab, const std::vector<int64_t>& history, double penalty);
// NoRepeatNGramLogitsProcessor: tokens that would repeat an n-gram of `history` get -inf.
void no_repeat_ngram(float* scores, int64_t vocab, const std::vector<int64_t>& history, int64_t n);
// TemperatureLogitsWarper: scores / temperature.
void temperature(float* scores, int64_t vocab, double t);
// TopKLogitsWarper: scores below the k-th largest become -inf (ties with it are kept).
void top_k(float* scores, int64_t vocab, int64_t k);
// TopPLogitsWarper: the smallest-probability tokens whose cumulative probability (ascending)
// is <= 1 - p become -inf; the most probable token always stays.
void top_p(float* scores, int64_t vocab, double p);

// log_softmax of one row (computed in double, stored as f32).
void log_softmax(const float* logits, float* out, int64_t vocab);
// Index of the first maximum (torch.argmax).
int64_t argmax(const float* scores, int64_t vocab);
// Inverse-CDF draw from softmax(scores) with u in [0, 1) (multinomial, one sample).
int64_t sample(const float* scores, int64_t vocab, double u);

}  // namespace vlv::models
