// shape: STUB, to be replaced by the real kernels.
#include "ops/kernel.h"

namespace vlv::cpu {

Tensors reshape(const Tensors& in, const Attrs& attrs, Saved*) {
  check_defined(in.at(0), "reshape", "x");
  return {in[0].detach().reshape(attrs.ints("shape"))};
}
Tensors reshape_backward(const BackwardArgs& g) { return {g.grad_outputs[0].reshape(g.inputs[0].shape())}; }
Tensors slice(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "slice: not implemented"); }
Tensors slice_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "slice: backward not implemented"); }
Tensors permute(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "permute: not implemented"); }
Tensors permute_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "permute: backward not implemented"); }
Tensors concat(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "concat: not implemented"); }
Tensors concat_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "concat: backward not implemented"); }
Tensors split(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "split: not implemented"); }
Tensors split_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "split: backward not implemented"); }

}  // namespace vlv::cpu
