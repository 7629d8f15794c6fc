// The backward rules: one per op of the list with a backward (ops.h: has_backward), the same
// on every device. A rule is written with ops:: calls (api.h): plain math composed from ops,
// and the fused backward kernels of ops.h's VLV_GRAD_KERNELS where they pay. The rule of an
// op lives in ops/grad/<family>.cc; declared here from the list, so a missing rule is a link
// error. Rules run with grad mode off (autograd's backward), so their ops are not recorded.
#pragma once
#include <vector>

#include "ops/kernel.h"

namespace vlv {

namespace grad {
#define VLV_GRAD_DECL_1(name) Tensors name(const BackwardArgs& args);
#define VLV_GRAD_DECL_0(name)
#define VLV_GRAD_DECL(name, inputs, bwd, family) VLV_GRAD_DECL_##bwd(name)
VLV_OPS(VLV_GRAD_DECL)
#undef VLV_GRAD_DECL
#undef VLV_GRAD_DECL_1
#undef VLV_GRAD_DECL_0

// Helpers shared by the rules (grad.cc).

// The adjoint of broadcasting `shape` to g's shape (NumPy): g summed over the broadcast
// dims, returned with exactly `shape` (g itself when the shapes are equal).
Tensor sum_to_shape(const Tensor& g, const Shape& shape);

// Whether input i needs a gradient.
inline bool needs(const BackwardArgs& a, size_t i) { return i < a.needs_grad.size() && a.needs_grad[i]; }

// The `needs` attribute of a fused backward kernel: needs_grad of the inputs at `which`.
std::vector<int64_t> needs_list(const BackwardArgs& a, std::initializer_list<size_t> which);

}  // namespace grad

// The rule of an op; null where it has none (has_backward = 0, and the fused kernels).
BackwardFn grad_rule(OpId op);

}  // namespace vlv
