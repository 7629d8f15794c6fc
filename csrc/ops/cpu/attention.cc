// attention: STUB, to be replaced by the real kernels.
#include "ops/kernel.h"

namespace vlv::cpu {

Tensors attention(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "attention: not implemented"); }
Tensors attention_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "attention: backward not implemented"); }

}  // namespace vlv::cpu
