// generate(): greedy, multinomial sampling and beam search as transformers 4.51.1's
// GenerationMixin runs them for a decoder-only model (its `_sample` and the vectorised
// `_beam_search` that replaced BeamScorer/BeamHypotheses in 4.50), written from its
// definition; scores are float32 as there. Lengths below count generated tokens only (the
// prompt, ids or embeddings, is never part of a length or of the returned ids).
//
// Greedy / sampling (num_beams == 1): each step the last logits go through the processors
// (repetition_penalty, no_repeat_ngram_size), and when sampling the warpers (temperature,
// top_k, top_p); the token is the first argmax, or an inverse-CDF draw from the softmax with
// u = rand(seed, offset = step * ceil(rows / 4))[row] (Philox: a seed fixes the output on
// every device). With eos ids, a finished row gets pad_token_id (eos[0] when no pad is given)
// and the loop ends when every row has produced an eos, else after max_new_tokens.
// num_return_sequences > 1 needs do_sample (the prompt is repeated, rows consecutive).
// Each step reports progress ("token", step, max_new_tokens) with the token every row chose
// (pads included) as its payload: what streaming hands to JS. Beam search reports no payload
// (its beams are not final until the end).
//
// Beam search (num_beams = nb >= 2, no sampling). Per batch item:
//  * running beams start as [prompt] with scores [0, -1e9, ..., -1e9] (so only beam 0's
//    continuations count at the first step); the finished set holds nb slots, empty
//    (score -1e9).
//  * a step: log_softmax of each running beam's logits, then the processors, plus the beam's
//    score; the top K = max(2, 1 + #eos) * nb of the nb * vocab candidates (ties: lower index)
//    are kept. A candidate "hits" if its token is an eos or it reaches max_new_tokens.
//  * next running beams: the best nb candidates after -1e9 is added to the hits.
//  * finished set: only a hit among the first nb of the K candidates may enter, with score
//    sum(logprobs) / (generated length, eos included) ** length_penalty; nothing enters once
//    all nb slots are filled when early_stopping is true. The nb best of (old set + entries)
//    are kept.
//  * the loop stops when (a) no improvement is possible: for every batch item and slot,
//    best running score / L ** length_penalty <= the worst finished score (an empty slot
//    counts as -1e9), with L = max_new_tokens for early_stopping "never" with a positive
//    length penalty and the current generated length otherwise (transformers' heuristic for
//    early_stopping=false); or (b) early_stopping is true and every slot of every item is
//    filled; or (c) every candidate hit (max_new_tokens reached).
//  * output: the first num_return_sequences finished slots, best first, with their scores
//    (sequences_scores); ids are cut to the longest returned hypothesis and filled after
//    each one's end with `pad_token_id or eos[0]` (transformers' expression, so pad 0 means
//    eos[0]), or -1 without eos.
//  With a beam at least as wide as the number of candidate sequences, and no eos, this
//  returns the sequence with the best summed log-probability (length penalty is a constant
//  divisor there).
#include "models/generation.h"
#include "core/call_context.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "models/logits_process.h"
#include "ops/api.h"

namespace vlv::models {

namespace {

constexpr float kNeg = -1.0e9f;

// Indices of the k largest values, best first; ties go to the lower index (stable).
std::vector<int64_t> top_indices(const std::vector<float>& v, int64_t k) {
  std::vector<int64_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  auto better = [&](int64_t a, int64_t b) {
    return v[size_t(a)] > v[size_t(b)] || (v[size_t(a)] == v[size_t(b)] && a < b);
  };
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), better);
  idx.resize(size_t(k));
  return idx;
}

bool is_eos(const GenerationOptions& o, int64_t t) {
  return std::find(o.eos_token_ids.begin(), o.eos_token_ids.end(), t) != o.eos_token_ids.end();
}

Tensor logits_f32(const Tensor& logits, int64_t rows) {
  VLV_CHECK(
      logits.dim() == 2 && logits.size(0) == rows && logits.dtype() == DType::F32 && logits.device() == Device::CPU,
      ErrorCode::Internal, "generate: expected f32 CPU logits [", rows, ", V], got ", logits.desc());
  return logits;
}

// Prompt ids + generated ids: what the processors see.
std::vector<int64_t> history(const std::vector<int64_t>& prompt, const std::vector<int64_t>& generated) {
  std::vector<int64_t> h(prompt);
  h.insert(h.end(), generated.begin(), generated.end());
  return h;
}

void process(float* scores, int64_t vocab, const std::vector<int64_t>& hist, const GenerationOptions& o) {
  if (o.repetition_penalty != 1.0) repetition_penalty(scores, vocab, hist, o.repetition_penalty);
  if (o.no_repeat_ngram_size > 0) no_repeat_ngram(scores, vocab, hist, o.no_repeat_ngram_size);
}

Tensor ids_tensor(const std::vector<std::vector<int64_t>>& rows, int64_t length, int64_t fill) {
  Tensor t = Tensor::empty({int64_t(rows.size()), length}, DType::I64);
  int64_t* p = t.data<int64_t>();
  for (size_t r = 0; r < rows.size(); ++r)
    for (int64_t j = 0; j < length; ++j)
      p[int64_t(r) * length + j] = j < int64_t(rows[r].size()) ? rows[r][size_t(j)] : fill;
  return t;
}

GenerationResult greedy_or_sample(CausalDecoder& model, const std::vector<std::vector<int64_t>>& prompts,
                                  const GenerationOptions& o) {
  const int64_t batch = model.batch(), expand = o.do_sample ? o.num_return_sequences : 1, rows = batch * expand;
  const bool has_eos = !o.eos_token_ids.empty();
  const int64_t pad = o.pad_token_id >= 0 ? o.pad_token_id : (has_eos ? o.eos_token_ids[0] : 0);
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(rows));
  std::vector<uint8_t> unfinished(size_t(rows), 1);
  std::vector<int64_t> next(static_cast<size_t>(rows));
  Tensor logits = logits_f32(model.prefill(expand, o.max_new_tokens), batch);
  for (int64_t step = 0; step < o.max_new_tokens; ++step) {
    if (step > 0) logits = logits_f32(model.step(next), rows);
    const int64_t vocab = logits.size(1);
    Tensor u;
    if (o.do_sample) u = ops::rand({rows}, uint64_t(o.seed), uint64_t(step * ((rows + 3) / 4)));
    std::vector<float> scores(static_cast<size_t>(vocab));
    for (int64_t n = 0; n < rows; ++n) {
      const float* row = logits.data<float>() + (step == 0 ? n / expand : n) * vocab;
      std::copy(row, row + vocab, scores.begin());
      process(scores.data(), vocab, history(prompts[size_t(n / expand)], out[size_t(n)]), o);
      int64_t token;
      if (o.do_sample) {
        if (o.temperature != 1.0) temperature(scores.data(), vocab, o.temperature);
        if (o.top_k > 0) top_k(scores.data(), vocab, o.top_k);
        if (o.top_p < 1.0) top_p(scores.data(), vocab, o.top_p);
        token = sample(scores.data(), vocab, double(u.data<float>()[n]));
      } else {
        token = argmax(scores.data(), vocab);
      }
      if (has_eos && !unfinished[size_t(n)]) token = pad;
      out[size_t(n)].push_back(token);
      next[size_t(n)] = token;
      if (has_eos && is_eos(o, token)) unfinished[size_t(n)] = 0;
    }
    report_progress("token", step + 1, o.max_new_tokens, next);  // each row's chosen token: streaming
    if (std::all_of(unfinished.begin(), unfinished.end(), [](uint8_t f) { return f == 0; })) break;
  }
  return {ids_tensor(out, int64_t(out[0].size()), pad), Tensor()};
}

struct Hypothesis {
  std::vector<int64_t> tokens;
  float score = kNeg;
  bool done = false;
};

GenerationResult beam_search(CausalDecoder& model, const std::vector<std::vector<int64_t>>& prompts,
                             const GenerationOptions& o) {
  const int64_t batch = model.batch(), nb = o.num_beams, rows = batch * nb;
  const int64_t keep = std::max<int64_t>(2, 1 + int64_t(o.eos_token_ids.size())) * nb;
  const bool early_true = o.early_stopping == "true";
  std::vector<Hypothesis> running(static_cast<size_t>(rows)), finished(static_cast<size_t>(rows));
  for (int64_t n = 0; n < rows; ++n) running[size_t(n)].score = n % nb == 0 ? 0.0f : kNeg;

  Tensor logits = logits_f32(model.prefill(nb, o.max_new_tokens), batch);
  const int64_t vocab = logits.size(1);
  VLV_CHECK(keep <= nb * vocab, ErrorCode::Arg, "generate: num_beams ", nb, " keeps ", keep,
            " candidates but there are only ", nb * vocab);
  std::vector<int64_t> next(static_cast<size_t>(rows)), src(static_cast<size_t>(rows));
  std::vector<float> lp(static_cast<size_t>(vocab)), acc(static_cast<size_t>(nb * vocab));
  for (int64_t cur = 0;; ++cur) {
    if (cur > 0) logits = logits_f32(model.step(next), rows);
    report_progress("token", cur + 1, o.max_new_tokens);
    bool all_hit = true;
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t j = 0; j < nb; ++j) {
        const int64_t n = b * nb + j;
        log_softmax(logits.data<float>() + (cur == 0 ? b : n) * vocab, lp.data(), vocab);
        process(lp.data(), vocab, history(prompts[size_t(b)], running[size_t(n)].tokens), o);
        for (int64_t t = 0; t < vocab; ++t) acc[size_t(j * vocab + t)] = lp[size_t(t)] + running[size_t(n)].score;
      }
      // The K best continuations of this item's beams.
      std::vector<int64_t> top = top_indices(acc, keep);
      std::vector<Hypothesis> cand(static_cast<size_t>(keep));
      std::vector<int64_t> cand_src(static_cast<size_t>(keep));
      std::vector<uint8_t> hit(static_cast<size_t>(keep));
      std::vector<float> run_score(static_cast<size_t>(keep)), fin_score(static_cast<size_t>(keep));
      bool full = true;
      for (int64_t j = 0; j < nb; ++j) full = full && finished[size_t(b * nb + j)].done;
      const float denom = float(std::pow(double(cur + 1), o.length_penalty));
      for (int64_t k = 0; k < keep; ++k) {
        const int64_t beam = top[size_t(k)] / vocab, token = top[size_t(k)] % vocab;
        cand_src[size_t(k)] = b * nb + beam;
        cand[size_t(k)].tokens = running[size_t(b * nb + beam)].tokens;
        cand[size_t(k)].tokens.push_back(token);
        cand[size_t(k)].score = acc[size_t(top[size_t(k)])];
        hit[size_t(k)] = cur + 1 >= o.max_new_tokens || is_eos(o, token);
        all_hit = all_hit && hit[size_t(k)];
        run_score[size_t(k)] = cand[size_t(k)].score + (hit[size_t(k)] ? kNeg : 0.0f);
        float f = cand[size_t(k)].score / denom;
        if (full && early_true) f += kNeg;
        if (!(hit[size_t(k)] && k < nb)) f += kNeg;
        fin_score[size_t(k)] = f;
      }
      // Next running beams.
      std::vector<int64_t> best = top_indices(run_score, nb);
      for (int64_t j = 0; j < nb; ++j) {
        const int64_t k = best[size_t(j)];
        Hypothesis& h = running[size_t(b * nb + j)];
        h.tokens = cand[size_t(k)].tokens;
        h.score = run_score[size_t(k)];
        src[size_t(b * nb + j)] = cand_src[size_t(k)];
        next[size_t(b * nb + j)] = h.tokens.back();
      }
      // Finished set: the nb best of the old slots and this step's entries.
      std::vector<float> merged(static_cast<size_t>(nb + keep));
      for (int64_t j = 0; j < nb; ++j) merged[size_t(j)] = finished[size_t(b * nb + j)].score;
      for (int64_t k = 0; k < keep; ++k) merged[size_t(nb + k)] = fin_score[size_t(k)];
      std::vector<int64_t> chosen = top_indices(merged, nb);
      std::vector<Hypothesis> kept(static_cast<size_t>(nb));
      for (int64_t j = 0; j < nb; ++j) {
        const int64_t m = chosen[size_t(j)];
        if (m < nb) {
          kept[size_t(j)] = finished[size_t(b * nb + m)];
        } else {
          kept[size_t(j)].tokens = cand[size_t(m - nb)].tokens;
          kept[size_t(j)].score = fin_score[size_t(m - nb)];
          kept[size_t(j)].done = hit[size_t(m - nb)] && (m - nb) < nb;
        }
      }
      std::move(kept.begin(), kept.end(), finished.begin() + b * nb);
    }
    model.reorder(src);

    // Stopping (transformers 4.51.1 _beam_search_has_unfinished_sequences, over the whole batch).
    const int64_t generated = cur + 1;
    const int64_t best_len = (o.early_stopping == "never" && o.length_penalty > 0) ? o.max_new_tokens : generated;
    const float best_denom = float(std::pow(double(best_len), o.length_penalty));
    bool improvement = false, all_done = true;
    for (int64_t b = 0; b < batch; ++b) {
      const float best_running = running[size_t(b * nb)].score / best_denom;
      float worst = finished[size_t(b * nb)].score;
      for (int64_t j = 0; j < nb; ++j) worst = std::min(worst, finished[size_t(b * nb + j)].score);
      for (int64_t j = 0; j < nb; ++j) {
        const bool done = finished[size_t(b * nb + j)].done;
        all_done = all_done && done;
        improvement = improvement || best_running > (done ? worst : kNeg);
      }
    }
    if (!improvement || (all_done && early_true) || all_hit) break;
  }

  const int64_t nrs = o.num_return_sequences;
  std::vector<std::vector<int64_t>> out;
  Tensor scores = Tensor::empty({batch * nrs}, DType::F32);
  size_t longest = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t r = 0; r < nrs; ++r) {
      const Hypothesis& h = finished[size_t(b * nb + r)];
      out.push_back(h.tokens);  // an unfilled slot has none: all fill
      longest = std::max(longest, out.back().size());
      scores.data<float>()[b * nrs + r] = h.score;
    }
  const bool has_eos = !o.eos_token_ids.empty();
  const int64_t fill = !has_eos ? -1 : (o.pad_token_id > 0 ? o.pad_token_id : o.eos_token_ids[0]);
  return {ids_tensor(out, int64_t(longest), fill), scores};
}

}  // namespace

GenerationOptions GenerationOptions::parse(const Attrs& in, const char* method) {
  Attrs a = in;
  a.op_name = method;
  GenerationOptions o;
  o.max_new_tokens = a.i("max_new_tokens", o.max_new_tokens);
  o.num_beams = a.i("num_beams", o.num_beams);
  o.num_return_sequences = a.i("num_return_sequences", o.num_return_sequences);
  o.length_penalty = a.f("length_penalty", o.length_penalty);
  if (a.has("early_stopping")) {
    const AttrValue& v = a.values().at("early_stopping");
    if (auto s = std::get_if<std::string>(&v)) o.early_stopping = *s;
    else o.early_stopping = a.i("early_stopping") ? "true" : "false";
  }
  o.eos_token_ids = a.ints("eos_token_id", {});
  o.pad_token_id = a.i("pad_token_id", -1);
  o.do_sample = a.b("do_sample", false);
  o.temperature = a.f("temperature", o.temperature);
  o.top_k = a.i("top_k", o.top_k);
  o.top_p = a.f("top_p", o.top_p);
  o.seed = a.i("seed", o.seed);
  o.repetition_penalty = a.f("repetition_penalty", o.repetition_penalty);
  o.no_repeat_ngram_size = a.i("no_repeat_ngram_size", o.no_repeat_ngram_size);
  for (const auto& [key, value] : a.values()) {
    static const char* known[] = {"max_new_tokens",
                                  "num_beams",
                                  "num_return_sequences",
                                  "length_penalty",
                                  "early_stopping",
                                  "eos_token_id",
                                  "pad_token_id",
                                  "do_sample",
                                  "temperature",
                                  "top_k",
                                  "top_p",
                                  "seed",
                                  "repetition_penalty",
                                  "no_repeat_ngram_size"};
    VLV_CHECK(
        std::find_if(std::begin(known), std::end(known), [&](const char* k) { return key == k; }) != std::end(known),
        ErrorCode::Arg, method, ": unknown option '", key, "'");
  }
  VLV_CHECK(o.max_new_tokens >= 1, ErrorCode::Arg, method, ": max_new_tokens must be >= 1, got ", o.max_new_tokens);
  VLV_CHECK(o.num_beams >= 1, ErrorCode::Arg, method, ": num_beams must be >= 1, got ", o.num_beams);
  VLV_CHECK(o.num_return_sequences >= 1, ErrorCode::Arg, method, ": num_return_sequences must be >= 1, got ",
            o.num_return_sequences);
  VLV_CHECK(o.num_beams == 1 || o.num_return_sequences <= o.num_beams, ErrorCode::Arg, method,
            ": num_return_sequences (", o.num_return_sequences, ") must be <= num_beams (", o.num_beams, ")");
  VLV_CHECK(o.num_beams > 1 || o.do_sample || o.num_return_sequences == 1, ErrorCode::Arg, method,
            ": greedy decoding returns one sequence per prompt (num_return_sequences needs do_sample or num_beams)");
  VLV_CHECK(!(o.do_sample && o.num_beams > 1), ErrorCode::Arg, method,
            ": beam sampling (do_sample with num_beams > 1) is not supported");
  VLV_CHECK(o.early_stopping == "true" || o.early_stopping == "false" || o.early_stopping == "never", ErrorCode::Arg,
            method, ": early_stopping must be true, false or 'never', got '", o.early_stopping, "'");
  VLV_CHECK(o.temperature > 0 && std::isfinite(o.temperature), ErrorCode::Arg, method,
            ": temperature must be > 0, got ", o.temperature);
  VLV_CHECK(o.top_k >= 0, ErrorCode::Arg, method, ": top_k must be >= 0, got ", o.top_k);
  VLV_CHECK(o.top_p > 0 && o.top_p <= 1, ErrorCode::Arg, method, ": top_p must be in (0, 1], got ", o.top_p);
  VLV_CHECK(o.repetition_penalty > 0, ErrorCode::Arg, method, ": repetition_penalty must be > 0, got ",
            o.repetition_penalty);
  VLV_CHECK(o.no_repeat_ngram_size >= 0, ErrorCode::Arg, method, ": no_repeat_ngram_size must be >= 0");
  for (int64_t e : o.eos_token_ids) VLV_CHECK(e >= 0, ErrorCode::Arg, method, ": eos_token_id must be >= 0, got ", e);
  return o;
}

GenerationResult generate(CausalDecoder& model, const std::vector<std::vector<int64_t>>& prompt_ids,
                          const GenerationOptions& options) {
  VLV_CHECK(int64_t(prompt_ids.size()) == model.batch(), ErrorCode::Internal, "generate: ", prompt_ids.size(),
            " prompt rows for a batch of ", model.batch());
  return options.num_beams > 1 ? beam_search(model, prompt_ids, options) : greedy_or_sample(model, prompt_ids, options);
}

}  // namespace vlv::models
