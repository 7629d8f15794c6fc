// Backward rule, attention (ops.h): the fused attention_backward kernel on the forward's
// outputs (out, and lse: the saved softmax statistics), recomputing the scores tile by tile;
// no gradient to the mask or through lse. Without a gradient on out (only lse was used) the
// inputs' gradients are zeros.
#include "ops/api.h"
#include "ops/grad/grad.h"

namespace vlv::grad {

Tensors attention(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined()) {
    Tensors zeros(4);
    for (size_t i = 0; i < 3; ++i)
      if (needs(a, i)) zeros[i] = Tensor::zeros(a.inputs[i].shape(), a.inputs[i].dtype(), a.inputs[i].device());
    return zeros;
  }
  Tensors g =
      ops::attention_backward(a.inputs, a.outputs.at(0), a.outputs.at(1), go, a.attrs, needs_list(a, {0, 1, 2}));
  return {g[0], g[1], g[2], Tensor()};
}

}  // namespace vlv::grad
