// norm: STUB, to be replaced by the real kernels.
#include "ops/kernel.h"

namespace vlv::cpu {

Tensors group_norm(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "group_norm: not implemented"); }
Tensors group_norm_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "group_norm: backward not implemented"); }
Tensors layer_norm(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "layer_norm: not implemented"); }
Tensors layer_norm_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "layer_norm: backward not implemented"); }
Tensors rms_norm(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "rms_norm: not implemented"); }
Tensors rms_norm_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "rms_norm: backward not implemented"); }
Tensors softmax(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "softmax: not implemented"); }
Tensors softmax_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "softmax: backward not implemented"); }

}  // namespace vlv::cpu
