// conv: STUB, to be replaced by the real kernels.
#include "ops/kernel.h"

namespace vlv::cpu {

Tensors conv2d(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "conv2d: not implemented"); }
Tensors conv2d_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "conv2d: backward not implemented"); }
Tensors upsample_nearest2x(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "upsample_nearest2x: not implemented"); }
Tensors upsample_nearest2x_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "upsample_nearest2x: backward not implemented"); }

}  // namespace vlv::cpu
