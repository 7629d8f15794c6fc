// CUDA kernel table, activations (kernels: kernels/activation.cu): gelu (both forms),
// quick_gelu, silu, geglu, swiglu, and the fused backward kernels of ops.h:
// activation_backward (the standalone ops' and linear's activation) and gated_backward
// (geglu / swiglu). activation_code is shared with linear's fused epilogue (gemm.cc). The
// rules are ops/grad/activation.cc. geglu runs the erf form only here (its approximate
// attribute is not read, as before).
#include "ops/cuda/common.h"
#include "ops/cuda/table.h"

namespace vlv::cudaops {

namespace {
int act_code(OpId op, const Attrs& attrs) {
  switch (op) {
    case OpId::gelu: {
      std::string a = attrs.s("approximate", "none");
      VLV_CHECK(a == "none" || a == "tanh", ErrorCode::Arg, "gelu: attribute 'approximate' must be \"none\" or ",
                "\"tanh\", got \"", a, "\"");
      return a == "tanh" ? VLV_CUDA_ACT_GELU_TANH : VLV_CUDA_ACT_GELU;
    }
    case OpId::quick_gelu: return VLV_CUDA_ACT_QUICK_GELU;
    default: return VLV_CUDA_ACT_SILU;
  }
}
}  // namespace

int activation_code(const std::string& name, const char* op) {
  if (name == "none") return VLV_CUDA_ACT_NONE;
  if (name == "gelu") return VLV_CUDA_ACT_GELU;
  if (name == "gelu_tanh") return VLV_CUDA_ACT_GELU_TANH;
  if (name == "silu") return VLV_CUDA_ACT_SILU;
  if (name == "quick_gelu") return VLV_CUDA_ACT_QUICK_GELU;
  fail(ErrorCode::Arg, op, ": unknown activation '", name, "' (expected none, gelu, gelu_tanh, silu or quick_gelu)");
}

// x, gy -> gy * f'(x) for attrs activation (linear's names).
Tensors activation_backward(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor &x = input(in, 0), &gy = input(in, 1);
  check_cuda_float(x, "activation_backward", "x");
  const int code = activation_code(attrs.s("activation"), "activation_backward");
  Tensor gx = empty(x.shape(), x.dtype());
  ck(api().activation_backward(code, dt(x.dtype()), x.numel(), x.raw(), cast_to(gy, x.dtype()).raw(), gx.raw()),
     "activation backward");
  return {gx};
}

#define VLV_CUDA_ACT(name)                                                                                             \
  Tensors name(const Tensors& in, const Attrs& attrs, Saved*) {                                                        \
    const Tensor& x = input(in, 0);                                                                                    \
    check_cuda_float(x, #name, "x");                                                                                   \
    Tensor y = empty(x.shape(), x.dtype());                                                                            \
    ck(api().activation(act_code(OpId::name, attrs), dt(x.dtype()), x.numel(), x.raw(), y.raw()), #name);              \
    return {y};                                                                                                        \
  }
VLV_CUDA_ACT(gelu)
VLV_CUDA_ACT(quick_gelu)
VLV_CUDA_ACT(silu)
#undef VLV_CUDA_ACT

Tensors geglu(const Tensors& in, const Attrs&, Saved*) {
  const Tensor& x = input(in, 0);
  check_cuda_float(x, "geglu", "x");
  VLV_CHECK(x.dim() >= 1 && x.size(-1) % 2 == 0, ErrorCode::Shape, "geglu: the last dim of x ", x.desc(),
            " must be even");
  int64_t h = x.size(-1) / 2, rows = h ? x.numel() / (2 * h) : 0;
  Shape out = x.shape();
  out.back() = h;
  Tensor y = empty(out, x.dtype());
  ck(api().gated(VLV_CUDA_GEGLU, dt(x.dtype()), rows, h, x.raw(), nullptr, y.raw()), "geglu");
  return {y};
}

Tensors swiglu(const Tensors& in, const Attrs&, Saved*) {
  const Tensor &gate = input(in, 0), &up = input(in, 1);
  check_cuda_float(gate, "swiglu", "gate");
  check_cuda_float(up, "swiglu", "up");
  VLV_CHECK(gate.shape() == up.shape() && gate.dtype() == up.dtype(), ErrorCode::Shape, "swiglu: gate ", gate.desc(),
            " and up ", up.desc(), " must match");
  Tensor y = empty(gate.shape(), gate.dtype());
  ck(api().gated(VLV_CUDA_SWIGLU, dt(gate.dtype()), 1, gate.numel(), gate.raw(), up.raw(), y.raw()), "swiglu");
  return {y};
}
// geglu: a = x[rows, 2h] -> (gx, undefined); swiglu: a = gate, b = up -> (ggate, gup) as
// attrs needs asks.
Tensors gated_backward(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor &a = input(in, 0), &b = input(in, 1), &gy = input(in, 2);
  check_cuda_float(a, "gated_backward", "a");
  const std::string kind = attrs.s("kind");
  if (kind == "geglu") {
    const int64_t h = a.size(-1) / 2, rows = h ? a.numel() / (2 * h) : 0;
    Tensor gx = empty(a.shape(), a.dtype());
    ck(api().gated_backward(VLV_CUDA_GEGLU, dt(a.dtype()), rows, h, a.raw(), nullptr, cast_to(gy, a.dtype()).raw(),
                            gx.raw(), nullptr),
       "geglu backward");
    return {gx, Tensor()};
  }
  VLV_CHECK(kind == "swiglu", ErrorCode::Arg, "gated_backward: unknown kind '", kind, "'");
  Tensor ga = wants_grad(attrs, 0) ? empty(a.shape(), a.dtype()) : Tensor();
  Tensor gb = wants_grad(attrs, 1) ? empty(b.shape(), b.dtype()) : Tensor();
  ck(api().gated_backward(VLV_CUDA_SWIGLU, dt(a.dtype()), 1, a.numel(), a.raw(), b.raw(), cast_to(gy, a.dtype()).raw(),
                          ga.defined() ? ga.raw() : nullptr, gb.defined() ? gb.raw() : nullptr),
     "swiglu backward");
  return {ga, gb};
}

}  // namespace vlv::cudaops
