// activation: STUB, to be replaced by the real kernels.
#include "ops/kernel.h"

namespace vlv::cpu {

Tensors gelu(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "gelu: not implemented"); }
Tensors gelu_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "gelu: backward not implemented"); }
Tensors quick_gelu(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "quick_gelu: not implemented"); }
Tensors quick_gelu_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "quick_gelu: backward not implemented"); }
Tensors silu(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "silu: not implemented"); }
Tensors silu_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "silu: backward not implemented"); }
Tensors geglu(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "geglu: not implemented"); }
Tensors geglu_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "geglu: backward not implemented"); }
Tensors swiglu(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "swiglu: not implemented"); }
Tensors swiglu_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "swiglu: backward not implemented"); }

}  // namespace vlv::cpu
