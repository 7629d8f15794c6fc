// optim: STUB, to be replaced by the real kernels.
#include "ops/kernel.h"

namespace vlv::cpu {

Tensors adamw(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "adamw: not implemented"); }
Tensors clip_grad_norm(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "clip_grad_norm: not implemented"); }

}  // namespace vlv::cpu
