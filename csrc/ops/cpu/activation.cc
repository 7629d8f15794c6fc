// activation: gelu (approximate "none" = erf form, "tanh"), quick_gelu, silu, geglu
// (x[...,2H] -> h * gelu(g), (h, g) = chunk(x, 2, -1), diffusers GEGLU; optional attr
// approximate as gelu), swiglu (silu(gate) * up), in f32, split over the thread pool.
// Scalar reference: libm's erfcf/tanhf/expf per element. silu, quick_gelu and gelu "tanh"
// also have an AVX-512 path (own exp, below): measured on the 2-core dev box, silu over 64K
// floats 0.18 ms vs 0.45 ms scalar (torch 0.15 ms); it agrees with the scalar path to
// <= 4e-7 relative L2 (test/ops/activation.test.ts). gelu "none", geglu and swiglu are scalar
// only for now (an AVX-512 erfc is the next step).
// The fused backward kernels (ops.h; the rules are ops/grad/activation.cc):
//   activation_backward: gy * f'(x) by activation_vec's grad_array (AVX-512 for all four,
//     scalar activation_math.h elsewhere), for the standalone ops and linear's activation;
//   gated_backward: geglu's or swiglu's two gradients in one pass (scalar).
// The scalar formulas are activation_math.h's, shared with linear's fused epilogue.
#include <algorithm>
#include <cmath>
#include <string>

#include <immintrin.h>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ops/cpu/activation_math.h"
#include "ops/cpu/activation_vec.h"
#include "ops/cpu/broadcast.h"
#include "ops/cpu/vec_math.h"
#include "ops/kernel.h"

namespace vlv::cpu {

namespace {

constexpr int64_t kGrain = 8192;

// ---- AVX-512 paths for the sigmoid-based activations ------------------------------------
// exp and sigmoid from vec_math.h. gelu_tanh uses 0.5*(1+tanh(u)) = sigmoid(2u). They match
// the scalar path to ~1e-7 relative (test/ops/activation.test.ts).

enum class Act { Silu, QuickGelu, GeluTanh };

// The sigmoid argument k*x (or 2u for gelu_tanh).
template <Act a>
VLV_TARGET_AVX512 inline __m512 arg16(__m512 x) {
  if constexpr (a == Act::Silu) {
    return x;
  } else if constexpr (a == Act::QuickGelu) {
    return _mm512_mul_ps(x, _mm512_set1_ps(act::kQuickGeluC));
  } else {  // 2u = 2k(x + c x^3)
    const __m512 x2 = _mm512_mul_ps(x, x), k2 = _mm512_set1_ps(2.0f * act::kSqrt2_Pi);
    return _mm512_mul_ps(k2, _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(act::kGeluTanhC), x2), x, x));
  }
}

// out = f(x) = x * sigmoid(arg(x)).
template <Act a>
VLV_TARGET_AVX512 void act_avx512(const float* xp, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    const __m512 x = _mm512_maskz_loadu_ps(m, xp + i);
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(x, vec::sigmoid512(arg16<a>(x))));
  }
}

using SimdFn = void (*)(const float* x, float* out, int64_t n);

// The AVX-512 kernel when that level is on, else null (the scalar loop runs).
SimdFn simd_for(SimdFn avx512) { return simd_level() == SimdLevel::AVX512 ? avx512 : nullptr; }

// out[i] = f(x[i]) over a tensor of x's shape.
template <class F>
Tensor map1(const Tensor& x, F f, SimdFn simd = nullptr) {
  Tensor out = Tensor::empty(x.shape(), DType::F32);
  const float* s = x.data<float>();
  float* d = out.data<float>();
  parallel_for(x.numel(), kGrain, [&](int64_t i0, int64_t i1) {
    if (simd) return simd(s + i0, d + i0, i1 - i0);
    for (int64_t i = i0; i < i1; ++i) d[i] = f(s[i]);
  });
  return out;
}

bool tanh_approx(const Attrs& attrs, const char* op) {
  std::string a = attrs.s("approximate", "none");
  VLV_CHECK(a == "none" || a == "tanh", ErrorCode::Arg, op,
            ": attribute 'approximate' must be \"none\" or \"tanh\", got \"", a, "\"");
  return a == "tanh";
}

const Tensor& unary_input(const Tensors& in, const char* op) {
  const Tensor& x = input(in, 0);
  check_float(x, op, "x");
  return x;
}

}  // namespace

Tensors gelu(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = unary_input(in, "gelu");
  if (tanh_approx(attrs, "gelu")) return {map1(x, act::gelu_tanh, simd_for(act_avx512<Act::GeluTanh>))};
  return {map1(x, act::gelu)};
}

Tensors quick_gelu(const Tensors& in, const Attrs&, Saved*) {
  return {map1(unary_input(in, "quick_gelu"), act::quick_gelu, simd_for(act_avx512<Act::QuickGelu>))};
}

Tensors silu(const Tensors& in, const Attrs&, Saved*) {
  return {map1(unary_input(in, "silu"), act::silu, simd_for(act_avx512<Act::Silu>))};
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

// ---- fused backward kernels (ops.h) -----------------------------------------------------

// gy * f'(x) for the activation named by attrs activation (linear's names).
Tensors activation_backward(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  const Tensor& gy = input(in, 1);
  check_float(x, "activation_backward", "x");
  check_float(gy, "activation_backward", "grad");
  const act::Activation a = act::parse_activation(attrs.s("activation"), "activation_backward");
  Tensor out = Tensor::empty(x.shape(), DType::F32);
  const float *s = x.data<float>(), *gp = gy.data<float>();
  float* d = out.data<float>();
  parallel_for(x.numel(), kGrain,
               [&](int64_t i0, int64_t i1) { act::grad_array(a, s + i0, gp + i0, d + i0, i1 - i0); });
  return {out};
}

// geglu (a = x[...,2H]): dh = gy * gelu(g), dg = gy * h * gelu'(g), into one [...,2H];
// swiglu (a = gate, b = up): dgate = gy * up * silu'(gate), dup = gy * silu(gate).
Tensors gated_backward(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& a = input(in, 0);
  const Tensor& go = input(in, 2);
  check_float(go, "gated_backward", "grad");
  const std::string kind = attrs.s("kind");
  if (kind == "geglu") {
    const Tensor& x = a;
    const bool approx = tanh_approx(attrs, "geglu");
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
    return {gx, Tensor()};
  }
  VLV_CHECK(kind == "swiglu", ErrorCode::Arg, "gated_backward: unknown kind '", kind, "'");
  const Tensor &gate = a, &up = input(in, 1);
  const bool need_gate = wants_grad(attrs, 0), need_up = wants_grad(attrs, 1);
  Tensor dgate = need_gate ? Tensor::empty(gate.shape(), DType::F32) : Tensor();
  Tensor dup = need_up ? Tensor::empty(up.shape(), DType::F32) : Tensor();
  const float* pa = gate.data<float>();
  const float* pb = up.data<float>();
  const float* gp = go.data<float>();
  float* da = need_gate ? dgate.data<float>() : nullptr;
  float* db = need_up ? dup.data<float>() : nullptr;
  parallel_for(go.numel(), kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      if (da) da[i] = gp[i] * pb[i] * act::silu_grad(pa[i]);
      if (db) db[i] = gp[i] * act::silu(pa[i]);
    }
  });
  return {dgate, dup};
}

}  // namespace vlv::cpu
