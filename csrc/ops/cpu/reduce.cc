// reduce: STUB, to be replaced by the real kernels.
#include "ops/kernel.h"

namespace vlv::cpu {

Tensors sum(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "sum: not implemented"); }
Tensors sum_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "sum: backward not implemented"); }
Tensors mean(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "mean: not implemented"); }
Tensors mean_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "mean: backward not implemented"); }
Tensors mse_loss(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "mse_loss: not implemented"); }
Tensors mse_loss_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "mse_loss: backward not implemented"); }
Tensors cross_entropy(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "cross_entropy: not implemented"); }
Tensors cross_entropy_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "cross_entropy: backward not implemented"); }

}  // namespace vlv::cpu
