// The signature every kernel and backward rule has, and the per-backend kernel tables.
// A table holds forward kernels only, for both lists of ops.h (the ops and the fused
// backward kernels); the backward rules are device-independent (ops/grad/grad.h).
#pragma once
#include <vector>

#include "core/tensor.h"
#include "ops/attrs.h"
#include "ops/ops.h"

namespace vlv {

// Tensors a forward kernel keeps for its backward rule beyond its inputs and outputs
// (e.g. the pre-activation of a fused linear; ops.h lists them). Null when the call is not
// recorded.
using Saved = Tensors;

using ForwardFn = Tensors (*)(const Tensors& inputs, const Attrs& attrs, Saved* saved);

struct BackwardArgs {
  const Tensors& inputs;
  const Tensors& outputs;
  const Saved& saved;
  const Attrs& attrs;
  const Tensors& grad_outputs;          // one per output; undefined where no gradient flows
  const std::vector<bool>& needs_grad;  // one per input
};

// Returns one gradient per input (undefined where not needed or not defined).
using BackwardFn = Tensors (*)(const BackwardArgs& args);

struct KernelTable {
  ForwardFn forward[kNumOps];
};

// Whether a fused backward kernel with several gradient outputs is asked for output i
// (attribute `needs`, ops.h: VLV_GRAD_KERNELS; absent = all).
inline bool wants_grad(const Attrs& attrs, size_t i) {
  if (!attrs.has("needs")) return true;
  const std::vector<int64_t> needs = attrs.ints("needs");
  return i < needs.size() && needs[i] != 0;
}

// Every CPU kernel, declared from both lists: cpu::add, ..., cpu::softmax_backward, ...
namespace cpu {
#define VLV_CPU_DECL(name, inputs, bwd, family) Tensors name(const Tensors& inputs_, const Attrs& attrs, Saved* saved);
VLV_ALL_OPS(VLV_CPU_DECL)
#undef VLV_CPU_DECL
}  // namespace cpu

const KernelTable& cpu_kernels();

}  // namespace vlv
