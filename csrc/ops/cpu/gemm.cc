// gemm: STUB, to be replaced by the real kernels.
#include "ops/kernel.h"

namespace vlv::cpu {

Tensors matmul(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "matmul: not implemented"); }
Tensors matmul_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "matmul: backward not implemented"); }
Tensors linear(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "linear: not implemented"); }
Tensors linear_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "linear: backward not implemented"); }

}  // namespace vlv::cpu
