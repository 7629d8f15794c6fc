// CUDA kernel table, fused attention (kernels: kernels/attention*.cu): shape and mask
// checks (the CPU kernel's messages), the mask's broadcast strides, and attention_backward
// (the fused backward kernel of ops.h, given the forward's outputs out and lse; the rule is
// ops/grad/attention.cc). q, k, v share one float
// dtype; out has it, lse is f32; the mask is bool or f32 (added). No gradient to the mask.
#include <cmath>

#include <algorithm>

#include "ops/check/attention.h"
#include "ops/cuda/common.h"
#include "ops/cuda/table.h"

namespace vlv::cudaops {

namespace {
VlvCudaAttention describe(const Tensors& in, const Attrs& attrs) {
  const Tensor &q = input(in, 0), &k = input(in, 1), &v = input(in, 2), &mask = input(in, 3);
  const char* names[3] = {"q", "k", "v"};
  const AttentionShape sh = attention_shape(q, k, v, attrs);
  for (int i = 0; i < 3; ++i) check_cuda_float(input(in, size_t(i)), "attention", names[i]);
  VLV_CHECK(k.dtype() == q.dtype() && v.dtype() == q.dtype(), ErrorCode::DType, "attention: q ", q.desc(), ", k ",
            k.desc(), " and v ", v.desc(), " must share one dtype");
  VlvCudaAttention a{};
  a.dtype = dt(q.dtype());
  a.b = sh.b, a.hq = sh.hq, a.lq = sh.lq, a.d = sh.d, a.hkv = sh.hkv, a.lk = sh.lk, a.dv = sh.dv;
  a.causal = sh.causal;
  a.scale = sh.scale;
  a.q = q.raw(), a.k = k.raw(), a.v = v.raw();
  if (mask.defined()) {
    const std::array<int64_t, 4> st = attention_mask_strides(mask, sh);
    std::copy(st.begin(), st.end(), a.mask_strides);
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

// q, k, v, mask, out, lse, gout -> (gq, gk, gv) as attrs needs asks.
Tensors attention_backward(const Tensors& in, const Attrs& attrs, Saved*) {
  const VlvCudaAttention a = describe(in, attrs);
  const Tensor &q = input(in, 0), &k = input(in, 1), &v = input(in, 2);
  const Tensor &out = input(in, 4), &lse = input(in, 5), &go = input(in, 6);
  Tensor gq = empty(q.shape(), q.dtype()), gk = empty(k.shape(), k.dtype()), gv = empty(v.shape(), v.dtype());
  ck(api().attention_backward(&a, out.raw(), lse.data<float>(), cast_to(go, q.dtype()).raw(), gq.raw(), gk.raw(),
                              gv.raw()),
     "attention backward");
  return {wants_grad(attrs, 0) ? gq : Tensor(), wants_grad(attrs, 1) ? gk : Tensor(),
          wants_grad(attrs, 2) ? gv : Tensor()};
}

}  // namespace vlv::cudaops
