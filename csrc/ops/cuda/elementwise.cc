// CUDA kernel table, elementwise (kernels: kernels/elementwise.cu): add/sub/mul/div with
// broadcasting, scale, cast, and expand (the fused backward kernel broadcasting a gradient
// out: a strided copy). The backward rules are ops/grad/elementwise.cc.
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

#define VLV_CUDA_BINARY(name, code)                                                                                    \
  Tensors name(const Tensors& in, const Attrs&, Saved*) { return {binary(code, #name, input(in, 0), input(in, 1))}; }
VLV_CUDA_BINARY(add, VLV_CUDA_ADD)
VLV_CUDA_BINARY(sub, VLV_CUDA_SUB)
VLV_CUDA_BINARY(mul, VLV_CUDA_MUL)
VLV_CUDA_BINARY(div, VLV_CUDA_DIV)
#undef VLV_CUDA_BINARY

Tensors scale(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  check_cuda_float(x, "scale", "x");
  Tensor y = empty(x.shape(), x.dtype());
  ck(api().scale(dt(x.dtype()), x.numel(), x.raw(), float(attrs.f("alpha", 1)), float(attrs.f("beta", 0)), y.raw()),
     "scale");
  return {y};
}

Tensors cast(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  check_defined(x, "cast", "x");
  return {cast_to(x, dtype_from_name(attrs.s("dtype")))};
}

Tensors expand(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  check_cuda_float(x, "expand", "x");
  const Shape shape = attrs.ints("shape");
  VLV_CHECK(broadcast_shape(x.shape(), shape, "expand") == shape, ErrorCode::Internal, "expand: ", x.desc(),
            " does not broadcast to ", shape_str(shape));
  return {expand(x, shape)};
}

}  // namespace vlv::cudaops
