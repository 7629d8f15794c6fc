// CUDA kernel table, elementwise (kernels: kernels/elementwise.cu): add/sub/mul/div with
// broadcasting, scale, cast; the backward rules are composed from the same kernels and ops
// (the broadcast adjoint is a reduce_sum).
#include "ops/api.h"
#include "ops/check/elementwise.h"
#include "ops/cuda/common.h"
#include "ops/cuda/table.h"

namespace vlv::cudaops {

namespace {
Tensor binary(int op, const char* name, const Tensor& a, const Tensor& b) {
  check_cuda_float(a, name, "a");
  check_cuda_float(b, name, "b");
  VLV_CHECK(a.dtype() == b.dtype(), ErrorCode::DType, name, ": a ", a.desc(), " and b ", b.desc(),
            " must have the same dtype");
  Shape out = broadcast_shape(a.shape(), b.shape(), name);
  auto aligned = [&](const Tensor& t) {
    std::vector<int64_t> ts = strides_of(t.shape()), s(out.size(), 0);
    size_t lead = out.size() - t.shape().size();
    for (size_t d = lead; d < out.size(); ++d) s[d] = t.shape()[d - lead] == 1 ? 0 : ts[d - lead];
    return s;
  };
  std::vector<int64_t> sa = aligned(a), sb = aligned(b);
  Tensor y = empty(out, a.dtype());
  VlvCudaView v = view(out, strides_of(out), name);
  ck(api().binary(op, dt(a.dtype()), &v, a.raw(), sa.data(), b.raw(), sb.data(), y.raw()), name);
  return y;
}

}  // namespace

#define VLV_CUDA_BINARY(name, code)                                                         \
  Tensors name(const Tensors& in, const Attrs&, Saved*) {                                  \
    return {binary(code, #name, input(in, 0), input(in, 1))};                              \
  }
VLV_CUDA_BINARY(add, VLV_CUDA_ADD)
VLV_CUDA_BINARY(sub, VLV_CUDA_SUB)
VLV_CUDA_BINARY(mul, VLV_CUDA_MUL)
VLV_CUDA_BINARY(div, VLV_CUDA_DIV)
#undef VLV_CUDA_BINARY

Tensors add_backward(const BackwardArgs& g) {
  const Tensor& go = g.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor()};
  return {g.needs_grad[0] ? sum_to_shape(go, g.inputs[0].shape()) : Tensor(),
          g.needs_grad[1] ? sum_to_shape(go, g.inputs[1].shape()) : Tensor()};
}
Tensors sub_backward(const BackwardArgs& g) {
  const Tensor& go = g.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor()};
  return {g.needs_grad[0] ? sum_to_shape(go, g.inputs[0].shape()) : Tensor(),
          g.needs_grad[1] ? sum_to_shape(ops::scale(go, -1.0), g.inputs[1].shape()) : Tensor()};
}
Tensors mul_backward(const BackwardArgs& g) {
  const Tensor& go = g.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor()};
  const Tensor &a = g.inputs[0], &b = g.inputs[1];
  return {g.needs_grad[0] ? sum_to_shape(ops::mul(go, b), a.shape()) : Tensor(),
          g.needs_grad[1] ? sum_to_shape(ops::mul(go, a), b.shape()) : Tensor()};
}
Tensors div_backward(const BackwardArgs& g) {
  const Tensor& go = g.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor()};
  const Tensor &a = g.inputs[0], &b = g.inputs[1];
  Tensor ga, gb;
  if (g.needs_grad[0]) ga = sum_to_shape(ops::div(go, b), a.shape());
  if (g.needs_grad[1])  // -go * a / b^2 = -(go * out) / b
    gb = sum_to_shape(ops::scale(ops::div(ops::mul(go, g.outputs[0]), b), -1.0), b.shape());
  return {ga, gb};
}

Tensors scale(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  check_cuda_float(x, "scale", "x");
  Tensor y = empty(x.shape(), x.dtype());
  ck(api().scale(dt(x.dtype()), x.numel(), x.raw(), float(attrs.f("alpha", 1)), float(attrs.f("beta", 0)), y.raw()),
     "scale");
  return {y};
}
Tensors scale_backward(const BackwardArgs& g) {
  if (!g.grad_outputs[0].defined() || !g.needs_grad[0]) return {Tensor()};
  return {ops::scale(g.grad_outputs[0], g.attrs.f("alpha", 1))};
}

Tensors cast(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  check_defined(x, "cast", "x");
  return {cast_to(x, dtype_from_name(attrs.s("dtype")))};
}
Tensors cast_backward(const BackwardArgs& g) {
  if (!g.grad_outputs[0].defined() || !g.needs_grad[0] || !is_floating(g.inputs[0].dtype())) return {Tensor()};
  return {cast_to(g.grad_outputs[0], g.inputs[0].dtype())};
}

}  // namespace vlv::cudaops
