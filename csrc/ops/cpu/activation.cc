// activation: gelu (approximate "none" = erf form, "tanh"), quick_gelu, silu, geglu
// (x[...,2H] -> h * gelu(g), (h, g) = chunk(x, 2, -1), diffusers GEGLU; optional attr
// approximate as gelu), swiglu (silu(gate) * up), forward and backward, in f32, split over
// the thread pool. Scalar reference: libm's erfcf/tanhf/expf per element. silu, quick_gelu
// and gelu "tanh" also have an AVX-512 path (own exp, below): measured on the 2-core dev
// box, silu over 64K floats 0.18 ms vs 0.45 ms scalar (torch 0.15 ms); it agrees with the
// scalar path to <= 4e-7 relative L2 (test/activation.test.ts). gelu "none", geglu and
// swiglu are scalar only for now (an AVX-512 erfc is the next step).
// The scalar formulas are activation_math.h's, shared with linear's fused epilogue.
#include <algorithm>
#include <cmath>
#include <string>

#include <immintrin.h>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ops/cpu/activation_math.h"
#include "ops/cpu/broadcast.h"
#include "ops/cpu/vec_math.h"
#include "ops/kernel.h"

namespace vlv::cpu {

namespace {

constexpr int64_t kGrain = 8192;

// ---- AVX-512 paths for the sigmoid-based activations ------------------------------------
// exp and sigmoid from vec_math.h. gelu_tanh uses 0.5*(1+tanh(u)) = sigmoid(2u). They match
// the scalar path to ~1e-7 relative (test/activation.test.ts).

enum class Act { Silu, QuickGelu, GeluTanh };

// The sigmoid argument k*x (or 2u for gelu_tanh) and its derivative in x.
template <Act a>
VLV_TARGET_AVX512 inline __m512 arg16(__m512 x, __m512* darg) {
  if constexpr (a == Act::Silu) {
    *darg = _mm512_set1_ps(1.0f);
    return x;
  } else if constexpr (a == Act::QuickGelu) {
    *darg = _mm512_set1_ps(act::kQuickGeluC);
    return _mm512_mul_ps(x, *darg);
  } else {  // 2u = 2k(x + c x^3); d(2u)/dx = 2k(1 + 3c x^2)
    const __m512 x2 = _mm512_mul_ps(x, x), k2 = _mm512_set1_ps(2.0f * act::kSqrt2_Pi);
    *darg = _mm512_mul_ps(k2, _mm512_fmadd_ps(_mm512_set1_ps(3.0f * act::kGeluTanhC), x2, _mm512_set1_ps(1.0f)));
    return _mm512_mul_ps(k2, _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(act::kGeluTanhC), x2), x, x));
  }
}

// f(x) = x * sigmoid(arg(x)); f'(x) = s + x * s * (1 - s) * arg'(x).
// g == nullptr: out = f(x); else out = g * f'(x).
template <Act a>
VLV_TARGET_AVX512 void act_avx512(const float* xp, const float* gp, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    const __m512 x = _mm512_maskz_loadu_ps(m, xp + i);
    __m512 darg;
    const __m512 s = vec::sigmoid512(arg16<a>(x, &darg));
    __m512 v;
    if (!gp) {
      v = _mm512_mul_ps(x, s);
    } else {
      const __m512 ds = _mm512_mul_ps(s, _mm512_sub_ps(_mm512_set1_ps(1.0f), s));
      v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, gp + i), _mm512_fmadd_ps(_mm512_mul_ps(x, ds), darg, s));
    }
    _mm512_mask_storeu_ps(out + i, m, v);
  }
}

using SimdFn = void (*)(const float* x, const float* g, float* out, int64_t n);

// The AVX-512 kernel when that level is on, else null (the scalar loop runs).
SimdFn simd_for(SimdFn avx512) { return simd_level() == SimdLevel::AVX512 ? avx512 : nullptr; }

// out[i] = f(x[i]) over a tensor of x's shape.
template <class F>
Tensor map1(const Tensor& x, F f, SimdFn simd = nullptr) {
  Tensor out = Tensor::empty(x.shape(), DType::F32);
  const float* s = x.data<float>();
  float* d = out.data<float>();
  parallel_for(x.numel(), kGrain, [&](int64_t i0, int64_t i1) {
    if (simd) return simd(s + i0, nullptr, d + i0, i1 - i0);
    for (int64_t i = i0; i < i1; ++i) d[i] = f(s[i]);
  });
  return out;
}

// out[i] = g[i] * df(x[i]).
template <class F>
Tensor grad1(const Tensor& g, const Tensor& x, F df, SimdFn simd = nullptr) {
  check_float(g, "activation backward", "grad");
  Tensor out = Tensor::empty(x.shape(), DType::F32);
  const float* s = x.data<float>();
  const float* gp = g.data<float>();
  float* d = out.data<float>();
  parallel_for(x.numel(), kGrain, [&](int64_t i0, int64_t i1) {
    if (simd) return simd(s + i0, gp + i0, d + i0, i1 - i0);
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
  const Tensor& x = input(in, 0);
  check_float(x, op, "x");
  return x;
}

bool wants_grad(const BackwardArgs& g) { return g.needs_grad[0] && g.grad_outputs[0].defined(); }

}  // namespace

Tensors gelu(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = unary_input(in, "gelu");
  if (tanh_approx(attrs, "gelu")) return {map1(x, act::gelu_tanh, simd_for(act_avx512<Act::GeluTanh>))};
  return {map1(x, act::gelu)};
}
Tensors gelu_backward(const BackwardArgs& g) {
  if (!wants_grad(g)) return {Tensor()};
  const Tensor &go = g.grad_outputs[0], &x = g.inputs[0];
  if (tanh_approx(g.attrs, "gelu")) return {grad1(go, x, act::gelu_tanh_grad, simd_for(act_avx512<Act::GeluTanh>))};
  return {grad1(go, x, act::gelu_grad)};
}

Tensors quick_gelu(const Tensors& in, const Attrs&, Saved*) { 
  return {map1(unary_input(in, "quick_gelu"), act::quick_gelu, simd_for(act_avx512<Act::QuickGelu>))};
 }
Tensors quick_gelu_backward(const BackwardArgs& g) {
  if (!wants_grad(g)) return {Tensor()};
  return {grad1(g.grad_outputs[0], g.inputs[0], act::quick_gelu_grad, simd_for(act_avx512<Act::QuickGelu>))};
}

Tensors silu(const Tensors& in, const Attrs&, Saved*) {
  return {map1(unary_input(in, "silu"), act::silu, simd_for(act_avx512<Act::Silu>))};
}
Tensors silu_backward(const BackwardArgs& g) {
  if (!wants_grad(g)) return {Tensor()};
  return {grad1(g.grad_outputs[0], g.inputs[0], act::silu_grad, simd_for(act_avx512<Act::Silu>))};
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
      for (int64_t i = 0; i < H; ++i) o[i] = h[i] * (approx ? act::gelu_tanh(gate[i]) : act::gelu(gate[i]));
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
        dh[i] = gr[i] * (approx ? act::gelu_tanh(v) : act::gelu(v));
        dg[i] = gr[i] * h[i] * (approx ? act::gelu_tanh_grad(v) : act::gelu_grad(v));
      }
    }
  });
  return {gx};
}

// ---- swiglu ------------------------------------------------------------------------------

Tensors swiglu(const Tensors& in, const Attrs&, Saved*) {
  const Tensor& gate = input(in, 0);
  const Tensor& up = input(in, 1);
  check_float(gate, "swiglu", "gate");
  check_float(up, "swiglu", "up");
  VLV_CHECK(gate.shape() == up.shape(), ErrorCode::Shape, "swiglu: 'gate' ", gate.desc(), " and 'up' ", up.desc(),
            " must have the same shape");
  Tensor out = Tensor::empty(gate.shape(), DType::F32);
  const float* a = gate.data<float>();
  const float* b = up.data<float>();
  float* d = out.data<float>();
  parallel_for(out.numel(), kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) d[i] = act::silu(a[i]) * b[i];
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
      if (da) da[i] = gp[i] * b[i] * act::silu_grad(a[i]);
      if (db) db[i] = gp[i] * act::silu(a[i]);
    }
  });
  return {dgate, dup};
}

}  // namespace vlv::cpu
