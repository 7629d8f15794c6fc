// Backward rules, embedding (ops.h): embedding's weight gradient through the fused
// embedding_backward kernel (a deterministic scatter-add of gy into a zero [V, D]); rope's
// through rope_backward (the same rotation by -angle). No gradient to ids or positions;
// timestep_embedding has none.
#include "ops/api.h"
#include "ops/grad/grad.h"

namespace vlv::grad {

Tensors embedding(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined() || !needs(a, 0)) return {Tensor(), Tensor()};
  return {ops::embedding_backward(a.inputs[0], a.inputs[1], go), Tensor()};
}

Tensors rope(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined() || !needs(a, 0)) return {Tensor(), Tensor()};
  // theta checked by the forward
  return {ops::rope_backward(go, a.inputs[1], a.attrs.f("theta", 10000), a.attrs.i("bf16_tables", 0) != 0), Tensor()};
}

}  // namespace vlv::grad
