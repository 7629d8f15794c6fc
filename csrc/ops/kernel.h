// The signature every kernel and backward rule has, and the per-backend tables.
#pragma once
#include <vector>

#include "core/tensor.h"
#include "ops/attrs.h"
#include "ops/ops.h"

namespace vlv {

// Tensors a forward kernel keeps for its backward rule beyond its inputs and outputs
// (e.g. the pre-activation of a fused linear). Null when the call is not recorded.
using Saved = Tensors;

using ForwardFn = Tensors (*)(const Tensors& inputs, const Attrs& attrs, Saved* saved);

struct BackwardArgs {
  const Tensors& inputs;
  const Tensors& outputs;
  const Saved& saved;
  const Attrs& attrs;
  const Tensors& grad_outputs;  // one per output; undefined where no gradient flows
  const std::vector<bool>& needs_grad;  // one per input
};

// Returns one gradient per input (undefined where not needed or not defined).
using BackwardFn = Tensors (*)(const BackwardArgs& args);

struct KernelTable {
  ForwardFn forward[kNumOps];
  BackwardFn backward[kNumOps];  // null where the op has no backward
};

// Every CPU kernel and rule, declared from the op list: cpu::add, cpu::add_backward, ...
namespace cpu {
#define VLV_BWD_DECL_1(name) Tensors name##_backward(const BackwardArgs& args);
#define VLV_BWD_DECL_0(name)
#define VLV_CPU_DECL(name, inputs, bwd, family)                              \
  Tensors name(const Tensors& inputs_, const Attrs& attrs, Saved* saved); \
  VLV_BWD_DECL_##bwd(name)
VLV_OPS(VLV_CPU_DECL)
#undef VLV_CPU_DECL
#undef VLV_BWD_DECL_1
#undef VLV_BWD_DECL_0
}  // namespace cpu

const KernelTable& cpu_kernels();

}  // namespace vlv
