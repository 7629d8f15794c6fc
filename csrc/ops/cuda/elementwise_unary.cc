// CUDA kernel table, the unary ops of VLV_UNARY_OPS (kernels: kernels/elementwise_unary.cu)
// and their gradient kernel, expanded from the list like the CPU's.
#include "ops/check/elementwise.h"
#include "ops/cuda/common.h"
#include "ops/cuda/table.h"

namespace vlv::cudaops {

namespace {
Tensor unary_on_device(UnaryOp op, const Tensor& x, const char* name) {
  check_cuda_float(x, name, "x");
  Tensor y = empty(x.shape(), x.dtype());
  ck(api().unary(int(op), dt(x.dtype()), x.numel(), x.raw(), y.raw()), name);
  return y;
}
}  // namespace

#define VLV_CUDA_UNARY(X, name, f, dfdx)                                                                               \
  Tensors name(const Tensors& in, const Attrs&, Saved*) {                                                              \
    return {unary_on_device(UnaryOp::name, input(in, 0), #name)};                                                      \
  }
VLV_UNARY_OPS(VLV_CUDA_UNARY, _)
#undef VLV_CUDA_UNARY

// Inputs x, y (the forward's output), gy; attrs op (the unary op's name).
Tensors unary_backward(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor &x = input(in, 0), &y = input(in, 1), &gy = input(in, 2);
  const UnaryOp op = unary_op(attrs);
  check_cuda_float(x, "unary backward", "x");
  check_cuda_float(y, "unary backward", "y");
  Tensor gx = empty(x.shape(), x.dtype());
  ck(api().unary_backward(int(op), dt(x.dtype()), x.numel(), x.raw(), y.raw(), cast_to(gy, x.dtype()).raw(), gx.raw()),
     "unary backward");
  return {gx};
}

}  // namespace vlv::cudaops
