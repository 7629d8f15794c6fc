// activation: gelu (approximate "none" = erf form, "tanh"), quick_gelu, silu, geglu
// (x[...,2H] -> h * gelu(g), (h, g) = chunk(x, 2, -1), diffusers GEGLU; optional attr
// approximate as gelu), swiglu (silu(gate) * up), forward and backward, in f32 with
// libm's erfcf/tanhf/expf per element, split over the thread pool.
// The scalar formulas below are meant to be shared with the fused linear epilogue (the
// GEMM side's activation_math.h): unify them when that header lands.
#include <algorithm>
#include <cmath>
#include <string>

#include "core/thread_pool.h"
#include "ops/cpu/broadcast.h"
#include "ops/kernel.h"

namespace vlv::cpu {

namespace {

constexpr float kSqrt1_2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;  // 1/sqrt(2*pi)
constexpr float kSqrt2OverPi = 0.79788456080286536f;
constexpr float kGeluC = 0.044715f;
constexpr float kQuick = 1.702f;

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// 1 + erf(x/sqrt2) written as erfc(-x/sqrt2): accurate in the negative tail too.
inline float gelu_erf(float x) { return 0.5f * x * std::erfc(-x * kSqrt1_2); }
inline float gelu_erf_grad(float x) {
  return 0.5f * std::erfc(-x * kSqrt1_2) + x * kInvSqrt2Pi * std::exp(-0.5f * x * x);
}
inline float gelu_tanh(float x) {
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + kGeluC * x * x * x)));
}
inline float gelu_tanh_grad(float x) {
  float t = std::tanh(kSqrt2OverPi * (x + kGeluC * x * x * x));
  return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * kGeluC * x * x);
}
inline float silu_f(float x) { return x * sigmoid(x); }
inline float silu_grad(float x) {
  float s = sigmoid(x);
  return s * (1.0f + x * (1.0f - s));
}
inline float quick_gelu_f(float x) { return x * sigmoid(kQuick * x); }
inline float quick_gelu_grad(float x) {
  float s = sigmoid(kQuick * x);
  return s + kQuick * x * s * (1.0f - s);
}

constexpr int64_t kGrain = 8192;

// out[i] = f(x[i]) over a tensor of x's shape.
template <class F>
Tensor map1(const Tensor& x, F f) {
  Tensor out = Tensor::empty(x.shape(), DType::F32);
  const float* s = x.data<float>();
  float* d = out.data<float>();
  parallel_for(x.numel(), kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) d[i] = f(s[i]);
  });
  return out;
}

// out[i] = g[i] * df(x[i]).
template <class F>
Tensor grad1(const Tensor& g, const Tensor& x, F df) {
  check_float(g, "activation backward", "grad");
  Tensor out = Tensor::empty(x.shape(), DType::F32);
  const float* s = x.data<float>();
  const float* gp = g.data<float>();
  float* d = out.data<float>();
  parallel_for(x.numel(), kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) d[i] = gp[i] * df(s[i]);
  });
  return out;
}

bool tanh_approx(const Attrs& attrs, const char* op) {
  std::string a = attrs.s("approximate", "none");
  VLV_CHECK(a == "none" || a == "tanh", ErrorCode::Arg, op, ": attribute 'approximate' must be \"none\" or \"tanh\", got \"",
            a, "\"");
  return a == "tanh";
}

const Tensor& unary_input(const Tensors& in, const char* op) {
  const Tensor& x = input_at(in, 0);
  check_float(x, op, "x");
  return x;
}

bool wants_grad(const BackwardArgs& g) { return g.needs_grad[0] && g.grad_outputs[0].defined(); }

}  // namespace

Tensors gelu(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = unary_input(in, "gelu");
  return {tanh_approx(attrs, "gelu") ? map1(x, gelu_tanh) : map1(x, gelu_erf)};
}
Tensors gelu_backward(const BackwardArgs& g) {
  if (!wants_grad(g)) return {Tensor()};
  const Tensor &go = g.grad_outputs[0], &x = g.inputs[0];
  return {tanh_approx(g.attrs, "gelu") ? grad1(go, x, gelu_tanh_grad) : grad1(go, x, gelu_erf_grad)};
}

Tensors quick_gelu(const Tensors& in, const Attrs&, Saved*) { return {map1(unary_input(in, "quick_gelu"), quick_gelu_f)}; }
Tensors quick_gelu_backward(const BackwardArgs& g) {
  if (!wants_grad(g)) return {Tensor()};
  return {grad1(g.grad_outputs[0], g.inputs[0], quick_gelu_grad)};
}

Tensors silu(const Tensors& in, const Attrs&, Saved*) { return {map1(unary_input(in, "silu"), silu_f)}; }
Tensors silu_backward(const BackwardArgs& g) {
  if (!wants_grad(g)) return {Tensor()};
  return {grad1(g.grad_outputs[0], g.inputs[0], silu_grad)};
}

// ---- geglu: rows of 2H, out rows of H ----------------------------------------------------

Tensors geglu(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = unary_input(in, "geglu");
  VLV_CHECK(x.dim() >= 1 && x.size(-1) % 2 == 0, ErrorCode::Shape, "geglu: the last dim of 'x' must be even, got ",
            x.desc());
  const bool approx = tanh_approx(attrs, "geglu");
  const int64_t H = x.size(-1) / 2, rows = H ? x.numel() / (2 * H) : 0;
  Shape os = x.shape();
  os.back() = H;
  Tensor out = Tensor::empty(os, DType::F32);
  const float* s = x.data<float>();
  float* d = out.data<float>();
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(H, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* h = s + r * 2 * H;
      const float* gate = h + H;
      float* o = d + r * H;
      for (int64_t i = 0; i < H; ++i) o[i] = h[i] * (approx ? gelu_tanh(gate[i]) : gelu_erf(gate[i]));
    }
  });
  return {out};
}

Tensors geglu_backward(const BackwardArgs& g) {
  if (!wants_grad(g)) return {Tensor()};
  const Tensor &go = g.grad_outputs[0], &x = g.inputs[0];
  check_float(go, "geglu backward", "grad");
  const bool approx = tanh_approx(g.attrs, "geglu");
  const int64_t H = x.size(-1) / 2, rows = H ? x.numel() / (2 * H) : 0;
  Tensor gx = Tensor::empty(x.shape(), DType::F32);
  const float* s = x.data<float>();
  const float* gp = go.data<float>();
  float* d = gx.data<float>();
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(H, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* h = s + r * 2 * H;
      const float* gate = h + H;
      const float* gr = gp + r * H;
      float* dh = d + r * 2 * H;
      float* dg = dh + H;
      for (int64_t i = 0; i < H; ++i) {
        float v = gate[i];
        dh[i] = gr[i] * (approx ? gelu_tanh(v) : gelu_erf(v));
        dg[i] = gr[i] * h[i] * (approx ? gelu_tanh_grad(v) : gelu_erf_grad(v));
      }
    }
  });
  return {gx};
}

// ---- swiglu ------------------------------------------------------------------------------

Tensors swiglu(const Tensors& in, const Attrs&, Saved*) {
  const Tensor& gate = input_at(in, 0);
  const Tensor& up = input_at(in, 1);
  check_float(gate, "swiglu", "gate");
  check_float(up, "swiglu", "up");
  VLV_CHECK(gate.shape() == up.shape(), ErrorCode::Shape, "swiglu: 'gate' ", gate.desc(), " and 'up' ", up.desc(),
            " must have the same shape");
  Tensor out = Tensor::empty(gate.shape(), DType::F32);
  const float* a = gate.data<float>();
  const float* b = up.data<float>();
  float* d = out.data<float>();
  parallel_for(out.numel(), kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) d[i] = silu_f(a[i]) * b[i];
  });
  return {out};
}

Tensors swiglu_backward(const BackwardArgs& g) {
  const Tensor& go = g.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor()};
  check_float(go, "swiglu backward", "grad");
  const Tensor &gate = g.inputs[0], &up = g.inputs[1];
  const bool need_gate = g.needs_grad[0], need_up = g.needs_grad[1];
  Tensor dgate = need_gate ? Tensor::empty(gate.shape(), DType::F32) : Tensor();
  Tensor dup = need_up ? Tensor::empty(up.shape(), DType::F32) : Tensor();
  const float* a = gate.data<float>();
  const float* b = up.data<float>();
  const float* gp = go.data<float>();
  float* da = need_gate ? dgate.data<float>() : nullptr;
  float* db = need_up ? dup.data<float>() : nullptr;
  parallel_for(go.numel(), kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      if (da) da[i] = gp[i] * b[i] * silu_grad(a[i]);
      if (db) db[i] = gp[i] * silu_f(a[i]);
    }
  });
  return {dgate, dup};
}

}  // namespace vlv::cpu
