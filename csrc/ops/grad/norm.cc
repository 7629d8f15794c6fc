// Backward rules, norm (ops.h): group_norm, layer_norm, rms_norm through their fused
// backward kernels, which read the forward's saved statistics ({stats}: opaque to the rule,
// in the layout of the backend that made them; ops.h) and give every gradient in one sweep
// (group_norm's fused SiLU recomputed from them); softmax through softmax_backward on its
// output: y * (gy - rowsum(gy * y)).
#include "ops/api.h"
#include "ops/grad/grad.h"

namespace vlv::grad {

namespace {
const Tensor& stats_of(const BackwardArgs& a, const char* op) {
  VLV_CHECK(a.saved.size() == 1, ErrorCode::Internal, op, ": backward without the saved statistics");
  return a.saved[0];
}
const Tensor& input_or_none(const BackwardArgs& a, size_t i) {
  static const Tensor kNone;
  return i < a.inputs.size() ? a.inputs[i] : kNone;
}
}  // namespace

Tensors group_norm(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor(), Tensor()};
  return ops::group_norm_backward(a.inputs[0], input_or_none(a, 1), input_or_none(a, 2), stats_of(a, "group_norm"), go,
                                  a.attrs, needs_list(a, {0, 1, 2}));
}

Tensors layer_norm(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor(), Tensor()};
  return ops::layer_norm_backward(a.inputs[0], input_or_none(a, 1), input_or_none(a, 2), stats_of(a, "layer_norm"), go,
                                  needs_list(a, {0, 1, 2}));
}

Tensors rms_norm(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor()};
  return ops::rms_norm_backward(a.inputs[0], input_or_none(a, 1), stats_of(a, "rms_norm"), go, needs_list(a, {0, 1}));
}

Tensors softmax(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined() || !needs(a, 0)) return {Tensor()};
  return {ops::softmax_backward(a.outputs[0], go)};
}

}  // namespace vlv::grad
