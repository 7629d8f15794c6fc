// Backward rules, activations (ops.h): gelu, quick_gelu, silu through the fused
// activation_backward kernel (gy * f'(x), one pass; the same kernel serves linear's fused
// activation), geglu and swiglu through gated_backward (both halves' gradients in one pass).
#include <string>

#include "ops/api.h"
#include "ops/grad/grad.h"

namespace vlv::grad {

namespace {
Tensors unary(const BackwardArgs& a, const std::string& act) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined() || !needs(a, 0)) return {Tensor()};
  return {ops::activation_backward(a.inputs[0], go, act)};
}
}  // namespace

// The forward checked `approximate`.
Tensors gelu(const BackwardArgs& a) {
  return unary(a, a.attrs.s("approximate", "none") == "tanh" ? "gelu_tanh" : "gelu");
}
Tensors quick_gelu(const BackwardArgs& a) { return unary(a, "quick_gelu"); }
Tensors silu(const BackwardArgs& a) { return unary(a, "silu"); }

Tensors geglu(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined() || !needs(a, 0)) return {Tensor()};
  return {ops::gated_backward(a.inputs[0], Tensor(), go, a.attrs, "geglu", {1, 0})[0]};
}

Tensors swiglu(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor()};
  Tensors g = ops::gated_backward(a.inputs[0], a.inputs[1], go, a.attrs, "swiglu", needs_list(a, {0, 1}));
  return {g[0], g[1]};
}

}  // namespace vlv::grad
