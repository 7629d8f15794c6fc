// CUDA kernel table, reductions and losses (kernels: reduce_sum in csrc/cuda/reduce.cu,
// cross_entropy in loss.cu): sum / mean over any dims (f32 accumulation per output in a
// fixed order), mse_loss composed from sub, mul and reduce_sum, cross_entropy with the
// targets validated on the host (they are [N] ids: the CPU's E_ARG message, and the count
// of non-ignored rows for "mean").
#include <limits>

#include "ops/api.h"
#include "ops/cuda_common.h"
#include "ops/cuda_ops.h"

namespace vlv::cudaops {

namespace {
std::vector<bool> reduce_mask(const Tensor& x, const Attrs& attrs, const char* op) {
  std::vector<int64_t> dims = attrs.ints("dims", {});
  const int64_t r = x.dim(), wrap = std::max<int64_t>(r, 1);
  std::vector<bool> mask(size_t(r), dims.empty()), seen(size_t(wrap), false);
  for (int64_t d : dims) {
    int64_t w = d < 0 ? d + wrap : d;
    VLV_CHECK(w >= 0 && w < wrap, ErrorCode::Arg, op, ": dim ", d, " is out of range for ", x.desc());
    VLV_CHECK(!seen[size_t(w)], ErrorCode::Arg, op, ": dim ", d, " is listed twice in dims");
    seen[size_t(w)] = true;
    if (r) mask[size_t(w)] = true;
  }
  return mask;
}

Tensors reduce_forward(const Tensors& in, const Attrs& attrs, const char* op, bool mean) {
  const Tensor& x = input(in, 0);
  check_cuda_float(x, op, "x");
  std::vector<bool> mask = reduce_mask(x, attrs, op);
  int64_t n = 1;
  for (size_t d = 0; d < mask.size(); ++d)
    if (mask[d]) n *= x.shape()[d];
  return {reduce(x, mask, mean ? float(1.0 / double(n)) : 1.f, attrs.b("keepdim", false), x.dtype())};
}

Tensors reduce_backward(const BackwardArgs& g, const char* op, bool mean) {
  const Tensor& go = g.grad_outputs[0];
  if (!go.defined() || !g.needs_grad[0]) return {Tensor()};
  const Tensor& x = g.inputs[0];
  std::vector<bool> mask = reduce_mask(x, g.attrs, op);
  Shape keep = x.shape();
  int64_t n = 1;
  for (size_t d = 0; d < mask.size(); ++d)
    if (mask[d]) {
      n *= keep[d];
      keep[d] = 1;
    }
  Tensor e = expand(go.reshape(keep), x.shape());
  return {mean ? ops::scale(e, 1.0 / double(std::max<int64_t>(n, 1))) : e};
}

std::string reduction_attr(const Attrs& attrs, const char* op) {
  std::string r = attrs.s("reduction", "mean");
  VLV_CHECK(r == "mean" || r == "sum" || r == "none", ErrorCode::Arg, op,
            ": attribute 'reduction' must be \"mean\", \"sum\" or \"none\", got \"", r, "\"");
  return r;
}

// The targets on the host, checked against [0, C) unless ignore_index.
std::vector<int64_t> read_targets(const Tensor& t, int64_t C, int64_t ignore) {
  Tensor h = to_device(t, Device::CPU);
  std::vector<int64_t> v(size_t(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = t.dtype() == DType::I64 ? h.data<int64_t>()[i] : h.data<int32_t>()[i];
    VLV_CHECK(v[i] == ignore || (v[i] >= 0 && v[i] < C), ErrorCode::Arg, "cross_entropy: target ", v[i], " at row ",
              i, " is out of range [0, ", C, ") and is not ignore_index (", ignore, ")");
  }
  return v;
}

int64_t count_valid(const std::vector<int64_t>& t, int64_t ignore) {
  int64_t n = 0;
  for (int64_t v : t) n += v != ignore;
  return n;
}
}  // namespace

Tensors sum(const Tensors& in, const Attrs& a, Saved*) { return reduce_forward(in, a, "sum", false); }
Tensors sum_backward(const BackwardArgs& g) { return reduce_backward(g, "sum", false); }
Tensors mean(const Tensors& in, const Attrs& a, Saved*) { return reduce_forward(in, a, "mean", true); }
Tensors mean_backward(const BackwardArgs& g) { return reduce_backward(g, "mean", true); }

Tensors mse_loss(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor &a = input(in, 0), &b = input(in, 1);
  check_cuda_float(a, "mse_loss", "a");
  check_cuda_float(b, "mse_loss", "b");
  VLV_CHECK(a.shape() == b.shape(), ErrorCode::Shape, "mse_loss: 'a' ", a.desc(), " and 'b' ", b.desc(),
            " must have the same shape");
  const std::string red = reduction_attr(attrs, "mse_loss");
  Tensor d = ops::sub(a, b), sq = ops::mul(d, d);
  if (red == "none") return {sq};
  std::vector<bool> all(size_t(sq.dim()), true);
  float s = red == "mean" ? float(1.0 / double(std::max<int64_t>(sq.numel(), 1))) : 1.f;
  if (red == "mean" && sq.numel() == 0) s = std::numeric_limits<float>::quiet_NaN();
  return {reduce(sq, all, s, false, a.dtype())};
}

Tensors mse_loss_backward(const BackwardArgs& g) {
  const Tensor& go = g.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor()};
  const Tensor &a = g.inputs[0], &b = g.inputs[1];
  const std::string red = reduction_attr(g.attrs, "mse_loss");
  double k = red == "mean" ? 2.0 / double(std::max<int64_t>(a.numel(), 1)) : 2.0;
  Tensor ga = ops::mul(ops::scale(ops::sub(a, b), k), red == "none" ? go : expand(go.reshape({}), a.shape()));
  return {g.needs_grad[0] ? ga : Tensor(), g.needs_grad[1] ? ops::scale(ga, -1.0) : Tensor()};
}

Tensors cross_entropy(const Tensors& in, const Attrs& attrs, Saved* saved) {
  const Tensor &logits = input(in, 0), &targets = input(in, 1);
  check_cuda_float(logits, "cross_entropy", "logits");
  check_defined(targets, "cross_entropy", "targets");
  VLV_CHECK(logits.dim() == 2, ErrorCode::Shape, "cross_entropy: logits ", logits.desc(), " must be [N, C]");
  VLV_CHECK(targets.dtype() == DType::I32 || targets.dtype() == DType::I64, ErrorCode::DType,
            "cross_entropy: targets ", targets.desc(), " must be i32 or i64");
  VLV_CHECK(targets.dim() == 1 && targets.size(0) == logits.size(0), ErrorCode::Shape, "cross_entropy: targets ",
            targets.desc(), " must be [", logits.size(0), "]");
  const int64_t N = logits.size(0), C = logits.size(1), ignore = attrs.i("ignore_index", -100);
  const std::string red = reduction_attr(attrs, "cross_entropy");
  const int64_t count = count_valid(read_targets(targets, C, ignore), ignore);
  Tensor loss = empty({N}, DType::F32), valid = empty({N}, DType::F32), lse = empty({N}, DType::F32);
  ck(api().cross_entropy(dt(logits.dtype()), N, C, logits.raw(), dt(targets.dtype()), targets.raw(), ignore,
                         loss.data<float>(), valid.data<float>(), lse.data<float>()),
     "cross_entropy");
  if (saved) saved->push_back(lse);
  if (red == "none") return {cast_to(loss, logits.dtype())};
  float s = red == "sum" ? 1.f : count ? float(1.0 / double(count)) : std::numeric_limits<float>::quiet_NaN();
  return {cast_to(reduce(loss, {true}, s, false, DType::F32), logits.dtype())};
}

Tensors cross_entropy_backward(const BackwardArgs& g) {
  const Tensor& go = g.grad_outputs[0];
  if (!go.defined() || !g.needs_grad[0]) return {Tensor(), Tensor()};
  const Tensor &logits = g.inputs[0], &targets = g.inputs[1];
  const int64_t N = logits.size(0), C = logits.size(1), ignore = g.attrs.i("ignore_index", -100);
  const std::string red = reduction_attr(g.attrs, "cross_entropy");
  Tensor grow = cast_to(go, DType::F32);
  if (red != "none") {
    grow = expand(grow.reshape({1}), {N});
    if (red == "mean") {
      int64_t count = count_valid(read_targets(targets, C, ignore), ignore);
      grow = ops::scale(grow, count ? 1.0 / double(count) : std::numeric_limits<double>::quiet_NaN());
    }
  }
  Tensor gl = empty(logits.shape(), logits.dtype());
  ck(api().cross_entropy_backward(dt(logits.dtype()), N, C, logits.raw(), dt(targets.dtype()), targets.raw(), ignore,
                                  g.saved.at(0).data<float>(), grow.data<float>(), gl.raw()),
     "cross_entropy backward");
  return {gl, Tensor()};
}

}  // namespace vlv::cudaops
