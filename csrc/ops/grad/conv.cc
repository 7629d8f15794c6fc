// Backward rules, conv (ops.h): conv2d's input and weight gradients through the fused
// conv2d_backward kernel (the adjoint im2col / implicit GEMM products of each backend), the
// bias gradient as a sum of gy over (N, Ho, Wo); upsample_nearest2x's as gy viewed
// [N,C,H,2,W,2] and summed over the two 2s. group_norm_conv2d has no backward (inference).
#include "ops/api.h"
#include "ops/grad/grad.h"

namespace vlv::grad {

Tensors conv2d(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor(), Tensor()};
  const Tensor &x = a.inputs[0], &w = a.inputs[1];
  const Tensor b = a.inputs.size() > 2 ? a.inputs[2] : Tensor();
  Tensor gx, gw, gb;
  if (needs(a, 0) || needs(a, 1)) {
    Tensors g = ops::conv2d_backward(x, w, go, a.attrs, needs_list(a, {0, 1}));
    gx = g[0];
    gw = g[1];
  }
  if (needs(a, 2) && b.defined()) gb = ops::sum(go, {0, 2, 3});  // conv2d's bias has x's dtype
  return {gx, gw, gb};
}

Tensors upsample_nearest2x(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined() || !needs(a, 0)) return {Tensor()};
  const Tensor& x = a.inputs[0];
  return {ops::sum(go.reshape({x.size(0), x.size(1), x.size(2), 2, x.size(3), 2}), {3, 5})};
}

}  // namespace vlv::grad
