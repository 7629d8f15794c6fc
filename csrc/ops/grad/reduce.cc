// Backward rules, reductions and losses (ops.h):
//   sum / mean: gy (keepdim shape) broadcast back to x's shape (expand), mean's scaled by
//     1/count first (on the small tensor);
//   mse_loss: ga = (a - b) * 2g (sum, none) or * 2g/n (mean), gb = -ga; composed;
//   cross_entropy: the fused cross_entropy_backward kernel on the saved lse:
//     (softmax - onehot(target)) * the row's weight (g, g/count or g[r]; ignored rows 0).
#include "ops/check/reduce.h"
#include "ops/api.h"
#include "ops/grad/grad.h"

namespace vlv::grad {

namespace {
Tensors reduce(const BackwardArgs& a, const char* op, bool mean) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined() || !needs(a, 0)) return {Tensor()};
  const Tensor& x = a.inputs[0];
  const ReduceDims rd = reduce_dims(x, a.attrs, op);
  Tensor g = go.reshape(rd.kept);
  if (mean) g = ops::scale(g, 1.0 / double(std::max<int64_t>(rd.count, 1)));
  return {ops::expand(g, x.shape())};
}
}  // namespace

Tensors sum(const BackwardArgs& a) { return reduce(a, "sum", false); }
Tensors mean(const BackwardArgs& a) { return reduce(a, "mean", true); }

Tensors mse_loss(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor()};
  const Tensor &x = a.inputs[0], &y = a.inputs[1];
  const Reduction red = reduction_arg(a.attrs, "mse_loss");
  const double k = red == Reduction::Mean ? 2.0 / double(std::max<int64_t>(x.numel(), 1)) : 2.0;
  const Tensor ga = ops::mul(ops::sub(x, y), ops::scale(go, k));  // go: x's shape, or a scalar
  return {needs(a, 0) ? ga : Tensor(), needs(a, 1) ? ops::scale(ga, -1.0) : Tensor()};
}

Tensors cross_entropy(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined() || !needs(a, 0)) return {Tensor(), Tensor()};
  VLV_CHECK(a.saved.size() == 1, ErrorCode::Internal, "cross_entropy backward: the forward saved no lse");
  return {ops::cross_entropy_backward(a.inputs[0], a.inputs[1], a.saved[0], go, a.attrs), Tensor()};
}

}  // namespace vlv::grad
