// elementwise: STUB, to be replaced by the real kernels.
#include "ops/kernel.h"

namespace vlv::cpu {

Tensors add(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "add: not implemented"); }
Tensors add_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "add: backward not implemented"); }
Tensors sub(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "sub: not implemented"); }
Tensors sub_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "sub: backward not implemented"); }
Tensors mul(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "mul: not implemented"); }
Tensors mul_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "mul: backward not implemented"); }
Tensors div(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "div: not implemented"); }
Tensors div_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "div: backward not implemented"); }
Tensors scale(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "scale: not implemented"); }
Tensors scale_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "scale: backward not implemented"); }
Tensors cast(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "cast: not implemented"); }
Tensors cast_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "cast: backward not implemented"); }

}  // namespace vlv::cpu
