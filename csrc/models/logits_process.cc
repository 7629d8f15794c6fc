#include "models/logits_process.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace vlv::models {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
}

void repetition_penalty(float* scores, int64_t vocab, const std::vector<int64_t>& history, double penalty) {
  const float p = float(penalty);
  std::vector<uint8_t> seen(size_t(vocab), 0);
  for (int64_t t : history)
    if (t >= 0 && t < vocab && !seen[size_t(t)]) {
      seen[size_t(t)] = 1;
      scores[t] = scores[t] < 0 ? scores[t] * p : scores[t] / p;
    }
}

void no_repeat_ngram(float* scores, int64_t vocab, const std::vector<int64_t>& history, int64_t n) {
  const int64_t len = int64_t(history.size());
  if (n <= 0 || len + 1 < n) return;
  // The last n-1 tokens; every earlier n-gram starting with them bans its last token.
  const int64_t* tail = history.data() + (len - n + 1);
  for (int64_t i = 0; i + n <= len; ++i)
    if (std::equal(tail, tail + (n - 1), history.data() + i)) {
      int64_t banned = history[size_t(i + n - 1)];
      if (banned >= 0 && banned < vocab) scores[banned] = kNegInf;
    }
}

void temperature(float* scores, int64_t vocab, double t) {
  const float tf = float(t);
  for (int64_t i = 0; i < vocab; ++i) scores[i] = scores[i] / tf;
}

void top_k(float* scores, int64_t vocab, int64_t k) {
  k = std::min(k, vocab);
  if (k <= 0) return;
  std::vector<float> sorted(scores, scores + vocab);
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<float>());
  const float kth = sorted[size_t(k - 1)];
  for (int64_t i = 0; i < vocab; ++i)
    if (scores[i] < kth) scores[i] = kNegInf;
}

void top_p(float* scores, int64_t vocab, double p) {
  std::vector<int64_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] < scores[b]; });
  std::vector<float> probs(static_cast<size_t>(vocab));
  log_softmax(scores, probs.data(), vocab);
  const float threshold = float(1.0 - p);
  float cumulative = 0;
  for (int64_t j = 0; j + 1 < vocab; ++j) {  // the last (most probable) token is always kept
    int64_t i = order[size_t(j)];
    cumulative += std::exp(probs[size_t(i)]);
    if (cumulative <= threshold) scores[i] = kNegInf;
  }
}

void log_softmax(const float* logits, float* out, int64_t vocab) {
  float mx = kNegInf;
  for (int64_t i = 0; i < vocab; ++i) mx = std::max(mx, logits[i]);
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(double(logits[i]) - double(mx));
  const double lse = double(mx) + std::log(sum);
  for (int64_t i = 0; i < vocab; ++i) out[i] = float(double(logits[i]) - lse);
}

int64_t argmax(const float* scores, int64_t vocab) {
  int64_t best = 0;
  for (int64_t i = 1; i < vocab; ++i)
    if (scores[i] > scores[best]) best = i;
  return best;
}

int64_t sample(const float* scores, int64_t vocab, double u) {
  float mx = kNegInf;
  for (int64_t i = 0; i < vocab; ++i) mx = std::max(mx, scores[i]);
  std::vector<double> cdf(static_cast<size_t>(vocab));
  double total = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    total += scores[i] == kNegInf ? 0.0 : std::exp(double(scores[i]) - double(mx));
    cdf[size_t(i)] = total;
  }
  const double target = u * total;
  int64_t i = int64_t(std::upper_bound(cdf.begin(), cdf.end(), target) - cdf.begin());
  i = std::min(i, vocab - 1);
  while (i > 0 && scores[i] == kNegInf) --i;  // never land on a removed token
  return i;
}

}  // namespace vlv::models
