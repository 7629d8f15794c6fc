// Shared by the CUDA host tests (kernels_host_test.cc, attention_tiles_host_test.cc): the
// CHECK macro and its counter, a seeded generator, the relative L2 error, and the attention
// test case: its random inputs and masks, the VlvCudaAttention describing them, and a naive
// float64 softmax attention forward and backward to check a kernel's outputs against.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "cuda/abi.h"

namespace vlv::cuda::hosttest {

inline int g_checks = 0;
#define CHECK(cond, ...)                                                                                               \
  do {                                                                                                                 \
    ++::vlv::cuda::hosttest::g_checks;                                                                                 \
    if (!(cond)) {                                                                                                     \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);                                    \
      std::fprintf(stderr, __VA_ARGS__);                                                                               \
      std::fprintf(stderr, "\n");                                                                                      \
      std::exit(1);                                                                                                    \
    }                                                                                                                  \
  } while (0)

inline uint32_t g_state = 12345;
inline float rnd(float s = 1.f) {
  g_state = g_state * 1664525u + 1013904223u;
  return (float(g_state) / 4294967296.f * 2.f - 1.f) * s;
}
inline std::vector<float> rnd_vec(size_t n, float s = 1.f) {
  std::vector<float> v(n);
  for (float& x : v) x = rnd(s);
  return v;
}

// Relative L2 error of got against want (both finite where want is).
inline double rel(const std::vector<float>& got, const std::vector<double>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(want[i])) {
      if (got[i] != float(want[i])) return INFINITY;
      continue;
    }
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

struct AttnCase {
  const char* name;
  int64_t b, hq, hkv, lq, lk, d, dv;
  bool causal;
  int mask;       // 0 none, 1 bool [b,1,lq,lk], 2 f32 [1,hq,1,lk] (some -inf)
  bool dead_row;  // the bool mask hides every key of query 0
};

// A case's inputs (f32; `round` maps each value to what the kernel's dtype holds), the
// attention descriptor over them, and the float64 reference outputs and gradients.
struct AttnData {
  VlvCudaAttention a{};
  std::vector<float> q, k, v, go, add;
  std::vector<uint8_t> keep;
  std::vector<double> out, lse, gq, gk, gv;

  template <class Round>
  AttnData(const AttnCase& c, Round round) {
    a.dtype = VLV_CUDA_F32;
    a.b = c.b, a.hq = c.hq, a.hkv = c.hkv, a.lq = c.lq, a.lk = c.lk, a.d = c.d, a.dv = c.dv;
    a.causal = c.causal;
    a.scale = float(1.0 / std::sqrt(double(c.d)));
    q = rnd_vec(size_t(c.b * c.hq * c.lq * c.d), 2), k = rnd_vec(size_t(c.b * c.hkv * c.lk * c.d), 2);
    v = rnd_vec(size_t(c.b * c.hkv * c.lk * c.dv)), go = rnd_vec(size_t(c.b * c.hq * c.lq * c.dv));
    for (auto* t : {&q, &k, &v, &go})
      for (float& x : *t) x = round(x);
    if (c.mask == 1) {
      keep.resize(size_t(c.b * c.lq * c.lk));
      for (auto& x : keep) x = rnd() > -0.4f;
      if (c.dead_row)
        for (int64_t j = 0; j < c.lk; ++j) keep[size_t(j)] = 0;  // batch 0, query 0
      a.mask_dtype = VLV_CUDA_BOOL, a.mask = keep.data();
      a.mask_strides[0] = c.lq * c.lk, a.mask_strides[1] = 0, a.mask_strides[2] = c.lk, a.mask_strides[3] = 1;
    } else if (c.mask == 2) {
      add = rnd_vec(size_t(c.hq * c.lk), 3);
      add[1] = -INFINITY;
      a.mask_dtype = VLV_CUDA_F32, a.mask = add.data();
      a.mask_strides[0] = 0, a.mask_strides[1] = c.lk, a.mask_strides[2] = 0, a.mask_strides[3] = 1;
    }
    a.q = q.data(), a.k = k.data(), a.v = v.data();
    reference(c);
  }

 private:
  void reference(const AttnCase& c) {
    const int64_t group = c.hq / c.hkv;
    out.assign(size_t(c.b * c.hq * c.lq * c.dv), 0), lse.assign(size_t(c.b * c.hq * c.lq), 0);
    gq.assign(q.size(), 0), gk.assign(k.size(), 0), gv.assign(v.size(), 0);
    std::vector<double> s(size_t(c.lk)), p(size_t(c.lk)), dp(size_t(c.lk));
    for (int64_t b = 0; b < c.b; ++b)
      for (int64_t h = 0; h < c.hq; ++h) {
        const int64_t kv = b * c.hkv + h / group;
        for (int64_t i = 0; i < c.lq; ++i) {
          const int64_t row = (b * c.hq + h) * c.lq + i;
          double m = -INFINITY;
          for (int64_t j = 0; j < c.lk; ++j) {
            double dot = 0;
            for (int64_t d = 0; d < c.d; ++d)
              dot += double(q[size_t(row * c.d + d)]) * k[size_t((kv * c.lk + j) * c.d + d)];
            s[size_t(j)] = dot * a.scale;
            if (c.mask == 1 && !keep[size_t((b * c.lq + i) * c.lk + j)]) s[size_t(j)] = -INFINITY;
            if (c.mask == 2) s[size_t(j)] += add[size_t(h * c.lk + j)];
            if (c.causal && j > i + c.lk - c.lq) s[size_t(j)] = -INFINITY;
            m = std::fmax(m, s[size_t(j)]);
          }
          if (m == -INFINITY) {
            lse[size_t(row)] = -INFINITY;
            continue;
          }
          double l = 0;
          for (int64_t j = 0; j < c.lk; ++j) l += p[size_t(j)] = std::exp(s[size_t(j)] - m);
          lse[size_t(row)] = m + std::log(l);
          double dsum = 0;
          for (int64_t j = 0; j < c.lk; ++j) {
            p[size_t(j)] /= l;
            double dpj = 0;
            for (int64_t d = 0; d < c.dv; ++d) {
              const double vv = v[size_t((kv * c.lk + j) * c.dv + d)];
              out[size_t(row * c.dv + d)] += p[size_t(j)] * vv;
              dpj += double(go[size_t(row * c.dv + d)]) * vv;
              gv[size_t((kv * c.lk + j) * c.dv + d)] += p[size_t(j)] * go[size_t(row * c.dv + d)];
            }
            dp[size_t(j)] = dpj;
            dsum += p[size_t(j)] * dpj;
          }
          for (int64_t j = 0; j < c.lk; ++j) {
            const double ds = p[size_t(j)] * (dp[size_t(j)] - dsum) * a.scale;
            for (int64_t d = 0; d < c.d; ++d) {
              gq[size_t(row * c.d + d)] += ds * k[size_t((kv * c.lk + j) * c.d + d)];
              gk[size_t((kv * c.lk + j) * c.d + d)] += ds * q[size_t(row * c.d + d)];
            }
          }
        }
      }
  }
};

}  // namespace vlv::cuda::hosttest
