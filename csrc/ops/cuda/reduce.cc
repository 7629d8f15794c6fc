// CUDA kernel table, reductions and losses (kernels: kernels/reduce.cu, reduce_loss.cu):
// sum / mean over any dims (f32 accumulation per output in a fixed order), mse_loss
// composed from sub, mul and reduce_sum, cross_entropy with the targets copied to the host
// and validated there (they are [N] ids: the CPU's E_ARG message, and the count of
// non-ignored rows for "mean"), and cross_entropy_backward (the fused backward kernel of
// ops.h; the rules are ops/grad/reduce.cc). Arguments are read and checked by
// ops/check/reduce, shared with the CPU kernels; the dtype checks are this backend's.
#include <limits>

#include "ops/api.h"
#include "ops/check/reduce.h"
#include "ops/cuda/common.h"
#include "ops/cuda/table.h"

namespace vlv::cudaops {

namespace {
Tensors reduce_forward(const Tensors& in, const Attrs& attrs, const char* op, bool mean) {
  const Tensor& x = input(in, 0);
  check_cuda_float(x, op, "x");
  const ReduceDims rd = reduce_dims(x, attrs, op);
  return {reduce(x, rd.mask, mean ? float(1.0 / double(rd.count)) : 1.f, rd.keepdim, x.dtype())};
}

// The targets copied to the host, checked against [0, C) unless ignore_index.
std::vector<int64_t> host_targets(const Tensor& t, const CrossEntropyArgs& ce) {
  return cross_entropy_targets(t.to(Device::CPU), ce);
}
}  // namespace

Tensors sum(const Tensors& in, const Attrs& a, Saved*) { return reduce_forward(in, a, "sum", false); }
Tensors mean(const Tensors& in, const Attrs& a, Saved*) { return reduce_forward(in, a, "mean", true); }

Tensors mse_loss(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor &a = input(in, 0), &b = input(in, 1);
  check_cuda_float(a, "mse_loss", "a");
  check_cuda_float(b, "mse_loss", "b");
  const Reduction red = mse_loss_args(a, b, attrs);
  Tensor d = ops::sub(a, b), sq = ops::mul(d, d);
  if (red == Reduction::None) return {sq};
  std::vector<bool> all(size_t(sq.dim()), true);
  float s = red == Reduction::Mean ? float(1.0 / double(std::max<int64_t>(sq.numel(), 1))) : 1.f;
  if (red == Reduction::Mean && sq.numel() == 0) s = std::numeric_limits<float>::quiet_NaN();
  return {reduce(sq, all, s, false, a.dtype())};
}

Tensors cross_entropy(const Tensors& in, const Attrs& attrs, Saved* saved) {
  const Tensor &logits = input(in, 0), &targets = input(in, 1);
  check_cuda_float(logits, "cross_entropy", "logits");
  check_cross_entropy_inputs(logits, targets);
  const CrossEntropyArgs ce = cross_entropy_args(logits, attrs);
  const Reduction red = ce.reduction;
  const int64_t N = ce.n, C = ce.c, ignore = ce.ignore_index;
  const int64_t count = count_not_ignored(host_targets(targets, ce), ignore);
  Tensor loss = empty({N}, DType::F32), valid = empty({N}, DType::F32), lse = empty({N}, DType::F32);
  ck(api().cross_entropy(dt(logits.dtype()), N, C, logits.raw(), dt(targets.dtype()), targets.raw(), ignore,
                         loss.data<float>(), valid.data<float>(), lse.data<float>()),
     "cross_entropy");
  if (saved) saved->push_back(lse);
  if (red == Reduction::None) return {cast_to(loss, logits.dtype())};
  float s = red == Reduction::Sum ? 1.f : count ? float(1.0 / double(count)) : std::numeric_limits<float>::quiet_NaN();
  return {cast_to(reduce(loss, {true}, s, false, DType::F32), logits.dtype())};
}

// logits, targets, lse, gy -> d logits (the per-row weight grow formed here from gy).
Tensors cross_entropy_backward(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor &logits = input(in, 0), &targets = input(in, 1), &lse = input(in, 2), &go = input(in, 3);
  const CrossEntropyArgs ce = cross_entropy_args(logits, attrs);
  const Reduction red = ce.reduction;
  const int64_t N = ce.n, C = ce.c, ignore = ce.ignore_index;
  Tensor grow = cast_to(go, DType::F32);
  if (red != Reduction::None) {
    grow = expand(grow.reshape({1}), {N});
    if (red == Reduction::Mean) {
      int64_t count = count_not_ignored(host_targets(targets, ce), ignore);
      grow = ops::scale(grow, count ? 1.0 / double(count) : std::numeric_limits<double>::quiet_NaN());
    }
  }
  Tensor gl = empty(logits.shape(), logits.dtype());
  ck(api().cross_entropy_backward(dt(logits.dtype()), N, C, logits.raw(), dt(targets.dtype()), targets.raw(), ignore,
                                  lse.data<float>(), grow.data<float>(), gl.raw()),
     "cross_entropy backward");
  return {gl};
}

}  // namespace vlv::cudaops
