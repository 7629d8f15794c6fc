// Backward rules, elementwise (ops.h): add, sub, mul, div, scale, cast. All composed from
// ops: each input's gradient is computed at the output's shape and summed back to the
// input's shape (sum_to_shape: the adjoint of broadcasting).
//   add: (g, g)   sub: (g, -g)   mul: (g*b, g*a)   div: (g/b, -(g/b)*out)   (out = a/b)
//   scale: g*alpha   cast: g cast back to the input's dtype (floating inputs only).
// The unary ops (VLV_UNARY_OPS): one rule expanded from the list, gy * dy/dx(x, y) in the
// fused unary_backward kernel (y the forward's output).
#include "ops/api.h"
#include "ops/grad/grad.h"

namespace vlv::grad {

namespace {
// The gradient of input i from its full-shape gradient `full` (undefined: none).
Tensor to_input(const BackwardArgs& a, size_t i, const Tensor& full) {
  if (!needs(a, i) || !full.defined()) return Tensor();
  return sum_to_shape(full, a.inputs[i].shape());
}
}  // namespace

Tensors add(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  return {to_input(a, 0, go), to_input(a, 1, go)};
}

Tensors sub(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor()};
  return {to_input(a, 0, go), needs(a, 1) ? to_input(a, 1, ops::scale(go, -1.0)) : Tensor()};
}

Tensors mul(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor()};
  const Tensor &x = a.inputs[0], &y = a.inputs[1];
  return {needs(a, 0) ? to_input(a, 0, ops::mul(go, y)) : Tensor(),
          needs(a, 1) ? to_input(a, 1, ops::mul(go, x)) : Tensor()};
}

// d(a/b)/da = 1/b; d(a/b)/db = -a/b^2 = -(g/b) * out.
Tensors div(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor()};
  const Tensor ga = ops::div(go, a.inputs[1]);
  Tensor gb;
  if (needs(a, 1)) gb = ops::scale(ops::mul(ga, a.outputs[0]), -1.0);
  return {to_input(a, 0, ga), to_input(a, 1, gb)};
}

Tensors scale(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined() || !needs(a, 0)) return {Tensor()};
  return {ops::scale(go, a.attrs.f("alpha", 1.0))};
}

Tensors cast(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  const Tensor& x = a.inputs[0];
  if (!go.defined() || !needs(a, 0) || !is_floating(x.dtype())) return {Tensor()};
  return {ops::cast(go, x.dtype())};
}

#define VLV_UNARY_RULE(X, name, f, dfdx)                                                                               \
  Tensors name(const BackwardArgs& a) {                                                                                \
    const Tensor& go = a.grad_outputs[0];                                                                              \
    if (!go.defined() || !needs(a, 0)) return {Tensor()};                                                              \
    return {ops::unary_backward(a.inputs[0], a.outputs[0], go, #name)};                                                \
  }
VLV_UNARY_OPS(VLV_UNARY_RULE, _)
#undef VLV_UNARY_RULE

}  // namespace vlv::grad
