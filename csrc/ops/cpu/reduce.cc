// reduce: sum and mean over `dims` (none = all, negative dims, keepdim), mse_loss and
// cross_entropy; cross_entropy_backward, the fused kernel of cross_entropy's rule (the rules
// are ops/grad/reduce.cc; sum / mean / mse_loss compose theirs from ops).
//
// Every sum accumulates in double in a fixed order that does not depend on the thread count
// (sum_dims_f32 in broadcast.cc; the losses add fixed blocks of 4096 elements in order).
// mean of nothing is NaN (0/0), as torch. mse_loss takes equal shapes only.
// cross_entropy: log-softmax per row with the row max subtracted (exp in f32, sums in
// double); rows whose target is ignore_index add 0 and get a zero gradient; "mean" divides
// by the number of rows not ignored, so all rows ignored gives NaN (0/0) as torch, while
// "sum" gives 0. A target outside [0, C) that is not ignore_index is E_ARG.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/thread_pool.h"
#include "ops/check/reduce.h"
#include "ops/cpu/broadcast.h"
#include "ops/kernel.h"

namespace vlv::cpu {

namespace {

Tensors reduce_forward(const Tensors& in, const Attrs& attrs, const char* op, bool mean) {
  const Tensor& x = input(in, 0);
  check_float(x, op, "x");
  const ReduceDims rd = reduce_dims(x, attrs, op);
  Tensor out = sum_dims_f32(x, rd.mask, mean ? 1.0 / double(rd.count) : 1.0);
  return {out.reshape(rd.out)};
}

constexpr int64_t kBlock = 4096;

// sum over i < n of term(i) in double: blocks of kBlock in parallel, added in order.
template <class F>
double blocked_sum(int64_t n, F term) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> part(static_cast<size_t>(blocks));
  parallel_for(blocks, 4, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      double acc = 0;
      for (int64_t i = b * kBlock, e = std::min(n, i + kBlock); i < e; ++i) acc += term(i);
      part[size_t(b)] = acc;
    }
  });
  double total = 0;
  for (double p : part) total += p;
  return total;
}

}  // namespace

Tensors sum(const Tensors& in, const Attrs& attrs, Saved*) { return reduce_forward(in, attrs, "sum", false); }
Tensors mean(const Tensors& in, const Attrs& attrs, Saved*) { return reduce_forward(in, attrs, "mean", true); }

// ---- mse_loss ----------------------------------------------------------------------------

Tensors mse_loss(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& a = input(in, 0);
  const Tensor& b = input(in, 1);
  check_float(a, "mse_loss", "a");
  check_float(b, "mse_loss", "b");
  const Reduction red = mse_loss_args(a, b, attrs);
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  const int64_t n = a.numel();
  if (red == Reduction::None) {
    Tensor out = Tensor::empty(a.shape(), DType::F32);
    float* o = out.data<float>();
    parallel_for(n, 16384, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        float d = pa[i] - pb[i];
        o[i] = d * d;
      }
    });
    return {out};
  }
  double total = blocked_sum(n, [&](int64_t i) {
    double d = double(pa[i]) - double(pb[i]);
    return d * d;
  });
  if (red == Reduction::Mean) total /= double(n);
  return {Tensor::full({}, float(total))};
}

// ---- cross_entropy -----------------------------------------------------------------------

Tensors cross_entropy(const Tensors& in, const Attrs& attrs, Saved* saved) {
  const Tensor& logits = input(in, 0);
  const Tensor& targets = input(in, 1);
  check_float(logits, "cross_entropy", "logits");
  check_cross_entropy_inputs(logits, targets);
  const CrossEntropyArgs ce = cross_entropy_args(logits, attrs);
  const Reduction red = ce.reduction;
  const int64_t N = ce.n, C = ce.c, ignore = ce.ignore_index;
  const std::vector<int64_t> tgt = cross_entropy_targets(targets, ce);
  Tensor lse = Tensor::empty({N}, DType::F32);
  std::vector<double> loss(static_cast<size_t>(N));
  const float* x = logits.data<float>();
  float* plse = lse.data<float>();
  parallel_for(N, std::max<int64_t>(1, 16384 / C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = x + r * C;
      const float m = *std::max_element(row, row + C);
      double s = 0;
      for (int64_t c = 0; c < C; ++c) s += double(std::exp(row[c] - m));
      const double l = double(m) + std::log(s);
      plse[r] = float(l);
      const int64_t t = tgt[size_t(r)];
      loss[size_t(r)] = t == ignore ? 0.0 : l - double(row[t]);
    }
  });
  if (saved) saved->push_back(lse);
  if (red == Reduction::None) {
    Tensor out = Tensor::empty({N}, DType::F32);
    for (int64_t r = 0; r < N; ++r) out.data<float>()[r] = float(loss[size_t(r)]);
    return {out};
  }
  double total = 0;
  int64_t count = 0;
  for (int64_t r = 0; r < N; ++r) {
    total += loss[size_t(r)];
    count += tgt[size_t(r)] != ignore;
  }
  if (red == Reduction::Mean) total = count ? total / double(count) : std::numeric_limits<double>::quiet_NaN();
  return {Tensor::full({}, float(total))};
}

// logits, targets, lse, gy -> d logits.
Tensors cross_entropy_backward(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& go = input(in, 3);
  check_float(go, "cross_entropy backward", "grad");
  const Tensor &logits = input(in, 0), &targets = input(in, 1);
  const CrossEntropyArgs ce = cross_entropy_args(logits, attrs);
  const Reduction red = ce.reduction;
  const int64_t N = ce.n, C = ce.c, ignore = ce.ignore_index;
  const std::vector<int64_t> tgt = cross_entropy_targets(targets, ce);
  const int64_t count = count_not_ignored(tgt, ignore);
  const float* pg = go.data<float>();
  const float w = red == Reduction::None ? 0.0f : red == Reduction::Sum ? pg[0] : float(double(pg[0]) / double(count));
  Tensor gx = Tensor::empty(logits.shape(), DType::F32);
  const float* x = logits.data<float>();
  const float* lse = input(in, 2).data<float>();
  float* d = gx.data<float>();
  parallel_for(N, std::max<int64_t>(1, 16384 / C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* o = d + r * C;
      const int64_t t = tgt[size_t(r)];
      if (t == ignore) {
        std::fill(o, o + C, 0.0f);
        continue;
      }
      const float* row = x + r * C;
      const float wr = red == Reduction::None ? pg[r] : w;
      for (int64_t c = 0; c < C; ++c) o[c] = wr * std::exp(row[c] - lse[r]);
      o[t] -= wr;
    }
  });
  return {gx};
}

}  // namespace vlv::cpu
