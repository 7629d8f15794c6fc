// activation_vec.h: the AVX-512 path evaluates exp with a degree-6 polynomial and scalef
// (about 1 ulp) and erf with Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, the formula
// PyTorch's own vectorised CPU erf uses); other SIMD levels run the scalar formulas of
// activation_math.h. NaN inputs give NaN; large |x| saturate like the scalar versions.
#include "ops/cpu/activation_vec.h"

#include <immintrin.h>

#include "core/cpu_features.h"
#include "ops/cpu/vec_math.h"

namespace vlv::cpu::act {

namespace {

// GCC 12 flags the self-initialised _mm512_undefined_ps() inside several intrinsics.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

VLV_TARGET_AVX512 inline __m512 erf512(__m512 x) {
  const __m512 ax = _mm512_abs_ps(x), one = _mm512_set1_ps(1.f);
  const __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), ax, one));
  __m512 p = _mm512_set1_ps(1.061405429f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
  p = _mm512_mul_ps(p, t);
  const __m512 e = vec::exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(ax, ax)));
  const __m512 y = _mm512_fnmadd_ps(p, e, one);
  // Copy x's sign onto y (NaN x: ax is NaN, so y is NaN).
  return _mm512_or_ps(y, _mm512_and_ps(x, _mm512_set1_ps(-0.f)));
}

// f(x) and f'(x) for one vector.
VLV_TARGET_AVX512 inline __m512 apply512(Activation a, __m512 x) {
  switch (a) {
    case Activation::Gelu:
      return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x),
                           _mm512_add_ps(_mm512_set1_ps(1.f), erf512(_mm512_mul_ps(x, _mm512_set1_ps(kSqrt1_2)))));
    case Activation::GeluTanh: {
      const __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
      const __m512 u2 =
          _mm512_mul_ps(_mm512_set1_ps(2.f * kSqrt2_Pi), _mm512_fmadd_ps(_mm512_set1_ps(kGeluTanhC), x3, x));
      return _mm512_mul_ps(x, vec::sigmoid512(u2));
    }
    case Activation::Silu: return _mm512_mul_ps(x, vec::sigmoid512(x));
    case Activation::QuickGelu: return _mm512_mul_ps(x, vec::sigmoid512(_mm512_mul_ps(_mm512_set1_ps(kQuickGeluC), x)));
    case Activation::None: break;
  }
  return x;
}

VLV_TARGET_AVX512 inline __m512 grad512(Activation a, __m512 x) {
  const __m512 one = _mm512_set1_ps(1.f);
  switch (a) {
    case Activation::Gelu: {
      const __m512 cdf =
          _mm512_mul_ps(_mm512_set1_ps(0.5f), _mm512_add_ps(one, erf512(_mm512_mul_ps(x, _mm512_set1_ps(kSqrt1_2)))));
      const __m512 pdf = _mm512_mul_ps(_mm512_set1_ps(kInvSqrt2Pi),
                                       vec::exp512(_mm512_mul_ps(_mm512_set1_ps(-0.5f), _mm512_mul_ps(x, x))));
      return _mm512_fmadd_ps(x, pdf, cdf);
    }
    case Activation::GeluTanh: {
      const __m512 xx = _mm512_mul_ps(x, x);
      const __m512 u2 = _mm512_mul_ps(_mm512_set1_ps(2.f * kSqrt2_Pi),
                                      _mm512_fmadd_ps(_mm512_set1_ps(kGeluTanhC), _mm512_mul_ps(xx, x), x));
      const __m512 s = vec::sigmoid512(u2);
      const __m512 du =
          _mm512_mul_ps(_mm512_set1_ps(kSqrt2_Pi), _mm512_fmadd_ps(_mm512_set1_ps(3.f * kGeluTanhC), xx, one));
      // s + 2 x s (1 - s) du
      return _mm512_fmadd_ps(
          _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(2.f), x), _mm512_mul_ps(s, _mm512_sub_ps(one, s))), du, s);
    }
    case Activation::Silu: {
      const __m512 s = vec::sigmoid512(x);
      return _mm512_mul_ps(s, _mm512_fmadd_ps(x, _mm512_sub_ps(one, s), one));
    }
    case Activation::QuickGelu: {
      const __m512 s = vec::sigmoid512(_mm512_mul_ps(_mm512_set1_ps(kQuickGeluC), x));
      return _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(kQuickGeluC), x), _mm512_mul_ps(s, _mm512_sub_ps(one, s)), s);
    }
    case Activation::None: break;
  }
  return one;
}

VLV_TARGET_AVX512 void apply_avx512(Activation a, const float* in, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, apply512(a, _mm512_loadu_ps(in + i)));
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(out + i, m, apply512(a, _mm512_maskz_loadu_ps(m, in + i)));
  }
}

VLV_TARGET_AVX512 void grad_avx512(Activation a, const float* pre, const float* gout, float* gin, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(gin + i, _mm512_mul_ps(_mm512_loadu_ps(gout + i), grad512(a, _mm512_loadu_ps(pre + i))));
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(
        gin + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, gout + i), grad512(a, _mm512_maskz_loadu_ps(m, pre + i))));
  }
}

#pragma GCC diagnostic pop

}  // namespace

void apply_array(Activation a, const float* in, float* out, int64_t n) {
  if (simd_level() == SimdLevel::AVX512) return apply_avx512(a, in, out, n);
  for (int64_t i = 0; i < n; ++i) out[i] = apply(a, in[i]);
}

void grad_array(Activation a, const float* pre, const float* gout, float* gin, int64_t n) {
  if (simd_level() == SimdLevel::AVX512) return grad_avx512(a, pre, gout, gin, n);
  for (int64_t i = 0; i < n; ++i) gin[i] = gout[i] * grad(a, pre[i]);
}

}  // namespace vlv::cpu::act
