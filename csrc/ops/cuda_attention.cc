// CUDA kernel table, fused attention (kernels: csrc/cuda/attention.cu): shape and mask
// checks (the CPU kernel's messages), the mask's broadcast strides, and the backward rule
// calling the fused backward with the saved outputs (out, lse). q, k, v share one float
// dtype; out has it, lse is f32; the mask is bool or f32 (added). No gradient to the mask.
#include <cmath>

#include "ops/cuda_common.h"
#include "ops/cuda_ops.h"

namespace vlv::cudaops {

namespace {
// Element strides of `mask` broadcast to the 4-D `target` (0 on broadcast dims).
void mask_strides(const Tensor& mask, const Shape& target, int64_t* strides) {
  VLV_CHECK(mask.dtype() == DType::Bool || mask.dtype() == DType::F32, ErrorCode::DType,
            "attention: mask must be bool or f32, got ", mask.desc());
  VLV_CHECK(mask.dim() <= 4, ErrorCode::Shape, "attention: mask ", mask.desc(), " is not broadcastable to ",
            shape_str(target));
  int64_t stride = 1;
  for (int d = 0; d < 4; ++d) strides[d] = 0;
  for (int64_t d = mask.dim() - 1; d >= 0; --d) {
    const int64_t td = 4 - mask.dim() + d, n = mask.size(d);
    VLV_CHECK(n == 1 || n == target[size_t(td)], ErrorCode::Shape, "attention: mask ", mask.desc(),
              " is not broadcastable to ", shape_str(target));
    strides[td] = n == 1 ? 0 : stride;
    stride *= n;
  }
}

VlvCudaAttention describe(const Tensors& in, const Attrs& attrs) {
  const Tensor &q = input(in, 0), &k = input(in, 1), &v = input(in, 2), &mask = input(in, 3);
  const char* names[3] = {"q", "k", "v"};
  for (int i = 0; i < 3; ++i) {
    check_defined(input(in, size_t(i)), "attention", names[i]);
    check_cuda_float(input(in, size_t(i)), "attention", names[i]);
    VLV_CHECK(input(in, size_t(i)).dim() == 4, ErrorCode::Shape, "attention: ", names[i], " ",
              input(in, size_t(i)).desc(), " must be 4-D [B, H, L, D]");
  }
  VLV_CHECK(k.dtype() == q.dtype() && v.dtype() == q.dtype(), ErrorCode::DType, "attention: q ", q.desc(), ", k ",
            k.desc(), " and v ", v.desc(), " must share one dtype");
  VlvCudaAttention a{};
  a.dtype = dt(q.dtype());
  a.b = q.size(0), a.hq = q.size(1), a.lq = q.size(2), a.d = q.size(3);
  a.hkv = k.size(1), a.lk = k.size(2), a.dv = v.size(3);
  VLV_CHECK(k.size(0) == a.b && v.size(0) == a.b, ErrorCode::Shape, "attention: batch sizes differ: q ", q.desc(),
            ", k ", k.desc(), ", v ", v.desc());
  VLV_CHECK(k.size(3) == a.d, ErrorCode::Shape, "attention: q ", q.desc(), " and k ", k.desc(), " head dims differ");
  VLV_CHECK(v.size(1) == a.hkv && v.size(2) == a.lk, ErrorCode::Shape, "attention: k ", k.desc(), " and v ", v.desc(),
            " differ in heads or length");
  VLV_CHECK(a.hkv > 0 && a.hq % a.hkv == 0, ErrorCode::Shape, "attention: query heads (", a.hq,
            ") must be a multiple of kv heads (", a.hkv, ")");
  VLV_CHECK(a.d > 0, ErrorCode::Shape, "attention: head dim of q ", q.desc(), " is 0");
  a.causal = attrs.b("causal", false);
  const double scale = attrs.f("scale", 1.0 / std::sqrt(double(a.d)));
  VLV_CHECK(std::isfinite(scale), ErrorCode::Arg, "attention: scale must be finite, got ", scale);
  a.scale = float(scale);
  a.q = q.raw(), a.k = k.raw(), a.v = v.raw();
  if (mask.defined()) {
    mask_strides(mask, {a.b, a.hq, a.lq, a.lk}, a.mask_strides);
    a.mask_dtype = dt(mask.dtype());
    a.mask = mask.raw();
  }
  return a;
}
}  // namespace

Tensors attention(const Tensors& in, const Attrs& attrs, Saved*) {
  const VlvCudaAttention a = describe(in, attrs);
  Tensor out = empty({a.b, a.hq, a.lq, a.dv}, input(in, 0).dtype());
  Tensor lse = empty({a.b, a.hq, a.lq}, DType::F32);
  ck(api().attention(&a, out.raw(), lse.data<float>()), "attention");
  return {out, lse};
}

Tensors attention_backward(const BackwardArgs& g) {
  const Tensor& go = g.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor(), Tensor(), Tensor()};
  const VlvCudaAttention a = describe(g.inputs, g.attrs);
  const Tensor &q = g.inputs[0], &k = g.inputs[1], &v = g.inputs[2];
  Tensor gq = empty(q.shape(), q.dtype()), gk = empty(k.shape(), k.dtype()), gv = empty(v.shape(), v.dtype());
  ck(api().attention_backward(&a, g.outputs[0].raw(), g.outputs[1].data<float>(), cast_to(go, q.dtype()).raw(),
                              gq.raw(), gk.raw(), gv.raw()),
     "attention backward");
  auto wants = [&](size_t i) { return i < g.needs_grad.size() && g.needs_grad[i]; };
  return {wants(0) ? gq : Tensor(), wants(1) ? gk : Tensor(), wants(2) ? gv : Tensor(), Tensor()};
}

}  // namespace vlv::cudaops
