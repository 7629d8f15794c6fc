// scheduler_step: the per-step update of every diffusion scheduler (DDPM, DDIM, Euler,
// DPM-Solver++), one elementwise pass. The host turns the schedule into scalars; per element
//   x0   = x0_sample*sample + x0_model*model_output      (clamped to [-clip, clip] if clip > 0)
//   prev = sample_coef*sample + model_coef*model_output + x0_coef*x0
//          + prev_x0_coef*prev_x0 + noise_coef*noise
// and both are written. With the attr `guidance` g, model_output holds the unconditional then
// the conditional half of a batch twice sample's, and the classifier-free-guidance combine
// (diffusers: uncond + g * (cond - uncond)) is folded in: model_output above stands for
// fma(g, cond - uncond, uncond), so a guided sampling step is one UNet call and this pass. Missing optional inputs
// (prev_x0, noise) are skipped; their coefficient must be 0. Every level (scalar / AVX2 / AVX-512) evaluates the same
// sequence of one multiply then fused multiply-adds in f32, so all give the same bits and the result does not depend on
// the thread count. Memory bound: a 4x64x64 latent is a few microseconds.
#include <immintrin.h>

#include <cmath>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ops/check/scheduler.h"
#include "ops/cpu/inputs.h"
#include "ops/kernel.h"

namespace vlv::cpu {

namespace {

constexpr int64_t kGrain = 16384;

struct Coefs {
  float x0_sample, x0_model, clip, sample, model, x0, prev_x0, noise, guidance;
};

struct Rows {
  const float *x, *m, *mc, *p, *n;  // mc (the conditional half: guided), p, n may be null
  float *prev, *x0;
};

void step_scalar(const Coefs& c, const Rows& r, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    const float m = r.mc ? std::fma(c.guidance, r.mc[i] - r.m[i], r.m[i]) : r.m[i];
    float x0 = std::fma(c.x0_model, m, c.x0_sample * r.x[i]);
    if (c.clip > 0) x0 = x0 < -c.clip ? -c.clip : x0 > c.clip ? c.clip : x0;  // NaN stays NaN
    float acc = std::fma(c.model, m, c.sample * r.x[i]);
    acc = std::fma(c.x0, x0, acc);
    if (r.p) acc = std::fma(c.prev_x0, r.p[i], acc);
    if (r.n) acc = std::fma(c.noise, r.n[i], acc);
    r.x0[i] = x0;
    r.prev[i] = acc;
  }
}

VLV_TARGET_AVX2 int64_t step_avx2(const Coefs& c, const Rows& r, int64_t b, int64_t e) {
  const __m256 xs = _mm256_set1_ps(c.x0_sample), xm = _mm256_set1_ps(c.x0_model);
  const __m256 hi = _mm256_set1_ps(c.clip), lo = _mm256_set1_ps(-c.clip);
  const __m256 cs = _mm256_set1_ps(c.sample), cm = _mm256_set1_ps(c.model), c0 = _mm256_set1_ps(c.x0);
  const __m256 cp = _mm256_set1_ps(c.prev_x0), cn = _mm256_set1_ps(c.noise), cg = _mm256_set1_ps(c.guidance);
  int64_t i = b;
  for (; i + 8 <= e; i += 8) {
    __m256 x = _mm256_loadu_ps(r.x + i), m = _mm256_loadu_ps(r.m + i);
    if (r.mc) m = _mm256_fmadd_ps(cg, _mm256_sub_ps(_mm256_loadu_ps(r.mc + i), m), m);
    __m256 x0 = _mm256_fmadd_ps(xm, m, _mm256_mul_ps(xs, x));
    if (c.clip > 0) {
      x0 = _mm256_blendv_ps(x0, lo, _mm256_cmp_ps(x0, lo, _CMP_LT_OQ));
      x0 = _mm256_blendv_ps(x0, hi, _mm256_cmp_ps(x0, hi, _CMP_GT_OQ));
    }
    __m256 acc = _mm256_fmadd_ps(cm, m, _mm256_mul_ps(cs, x));
    acc = _mm256_fmadd_ps(c0, x0, acc);
    if (r.p) acc = _mm256_fmadd_ps(cp, _mm256_loadu_ps(r.p + i), acc);
    if (r.n) acc = _mm256_fmadd_ps(cn, _mm256_loadu_ps(r.n + i), acc);
    _mm256_storeu_ps(r.x0 + i, x0);
    _mm256_storeu_ps(r.prev + i, acc);
  }
  return i;
}

VLV_TARGET_AVX512 int64_t step_avx512(const Coefs& c, const Rows& r, int64_t b, int64_t e) {
  const __m512 xs = _mm512_set1_ps(c.x0_sample), xm = _mm512_set1_ps(c.x0_model);
  const __m512 hi = _mm512_set1_ps(c.clip), lo = _mm512_set1_ps(-c.clip);
  const __m512 cs = _mm512_set1_ps(c.sample), cm = _mm512_set1_ps(c.model), c0 = _mm512_set1_ps(c.x0);
  const __m512 cp = _mm512_set1_ps(c.prev_x0), cn = _mm512_set1_ps(c.noise), cg = _mm512_set1_ps(c.guidance);
  int64_t i = b;
  for (; i + 16 <= e; i += 16) {
    __m512 x = _mm512_loadu_ps(r.x + i), m = _mm512_loadu_ps(r.m + i);
    if (r.mc) m = _mm512_fmadd_ps(cg, _mm512_sub_ps(_mm512_loadu_ps(r.mc + i), m), m);
    __m512 x0 = _mm512_fmadd_ps(xm, m, _mm512_mul_ps(xs, x));
    if (c.clip > 0) {
      x0 = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x0, lo, _CMP_LT_OQ), x0, lo);
      x0 = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x0, hi, _CMP_GT_OQ), x0, hi);
    }
    __m512 acc = _mm512_fmadd_ps(cm, m, _mm512_mul_ps(cs, x));
    acc = _mm512_fmadd_ps(c0, x0, acc);
    if (r.p) acc = _mm512_fmadd_ps(cp, _mm512_loadu_ps(r.p + i), acc);
    if (r.n) acc = _mm512_fmadd_ps(cn, _mm512_loadu_ps(r.n + i), acc);
    _mm512_storeu_ps(r.x0 + i, x0);
    _mm512_storeu_ps(r.prev + i, acc);
  }
  return i;
}

}  // namespace

Tensors scheduler_step(const Tensors& in, const Attrs& attrs, Saved*) {
  const SchedulerStepArgs a = scheduler_step_args(in, attrs);
  const Coefs c{a.x0_sample, a.x0_model, a.clip, a.sample, a.model, a.x0, a.prev_x0, a.noise, a.guidance};
  const Shape& shape = input(in, 0).shape();
  Tensor prev = Tensor::empty(shape, DType::F32);
  Tensor x0 = Tensor::empty(shape, DType::F32);
  const Rows r{a.x, a.m, a.mc, a.p, a.n, prev.data<float>(), x0.data<float>()};
  const SimdLevel level = simd_level();
  parallel_for(a.numel, kGrain, [&](int64_t b, int64_t e) {
    int64_t done = b;
    if (level == SimdLevel::AVX512) done = step_avx512(c, r, b, e);
    else if (level == SimdLevel::AVX2) done = step_avx2(c, r, b, e);
    step_scalar(c, r, done, e);
  });
  return {prev, x0};
}

}  // namespace vlv::cpu
