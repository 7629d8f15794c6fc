// The row loops of the fused CUDA attention (attention.cu), written once for the device and
// the host: each is a template over a vector type `Vec` holding one head-dim row, which on
// the device is spread over the 32 lanes of a warp (LaneVec in attention.cu) and on the host
// is a plain array (the host test, csrc/cuda/test/kernels_host_test.cc, runs these very loops
// against a naive softmax attention). Vec provides: load(p, n), zero(), dot(p, n) (the same
// value on every lane), axpy(a, p, n), scale(s), store(p, n, s) (the row times s) and leader() (the one
// lane that writes scalars). Element loads go through Vec, so T is any type Vec can read.
#pragma once
#include <cmath>
#include <cstdint>

#include "cuda/abi.h"
#include "ops/cuda/kernels/hd.h"

namespace vlv::cuda::attn {

constexpr float kNegInf = -INFINITY;

// The scaled, masked score: dot * scale + mask(b, h, i, j); -inf where masked out.
VLV_HD float masked(const VlvCudaAttention& a, float dot, int64_t b, int64_t h, int64_t i, int64_t j) {
  float s = dot * a.scale;
  if (a.mask) {
    const int64_t off = b * a.mask_strides[0] + h * a.mask_strides[1] + i * a.mask_strides[2] + j * a.mask_strides[3];
    if (a.mask_dtype == VLV_CUDA_BOOL) s = static_cast<const uint8_t*>(a.mask)[off] ? s : kNegInf;
    else s += static_cast<const float*>(a.mask)[off];
  }
  return s;
}

// Keys [0, end) visible to query i (causal: j <= i + lk - lq).
VLV_HD int64_t key_end(const VlvCudaAttention& a, int64_t i) {
  if (!a.causal) return a.lk;
  const int64_t e = i + a.lk - a.lq + 1;
  return e < 0 ? 0 : e > a.lk ? a.lk : e;
}

// Queries [begin, lq) that may see key j.
VLV_HD int64_t query_begin(const VlvCudaAttention& a, int64_t j) {
  const int64_t b = a.causal ? j - (a.lk - a.lq) : 0;
  return b < 0 ? 0 : b;
}

struct RowIds {
  int64_t b, h, i, kv;  // kv: the (batch, kv head) index
};
VLV_HD RowIds query_row(const VlvCudaAttention& a, int64_t row) {
  RowIds r;
  r.i = row % a.lq;
  const int64_t bh = row / a.lq;
  r.h = bh % a.hq;
  r.b = bh / a.hq;
  r.kv = r.b * a.hkv + r.h / (a.hq / a.hkv);
  return r;
}

// out[row] and lse[row]: one pass over the visible keys with an online softmax.
template <class Vec, class T>
VLV_HD void forward_row(const VlvCudaAttention& a, int64_t row, Vec& q, Vec& acc, T* out, float* lse) {
  const RowIds r = query_row(a, row);
  const T* K = static_cast<const T*>(a.k) + r.kv * a.lk * a.d;
  const T* V = static_cast<const T*>(a.v) + r.kv * a.lk * a.dv;
  q.load(static_cast<const T*>(a.q) + row * a.d, a.d);
  acc.zero();
  float m = kNegInf, l = 0.f;
  const int64_t end = key_end(a, r.i);
  for (int64_t j = 0; j < end; ++j) {
    const float s = masked(a, q.dot(K + j * a.d, a.d), r.b, r.h, r.i, j);
    if (s == kNegInf) continue;
    if (s > m) {
      const float alpha = expf(m - s);  // 0 on the first visible key
      l *= alpha;
      acc.scale(alpha);
      m = s;
    }
    const float p = expf(s - m);
    l += p;
    acc.axpy(p, V + j * a.dv, a.dv);
  }
  acc.store(out + row * a.dv, a.dv, l > 0 ? 1.f / l : 0.f);
  if (acc.leader()) lse[row] = l > 0 ? m + logf(l) : kNegInf;
}

// di[row] = sum of dO * O over the row.
template <class Vec, class T>
VLV_HD void rowdot_row(int64_t row, int64_t dv, const T* o, const T* go, Vec& g, float* di) {
  g.load(go + row * dv, dv);
  const float s = g.dot(o + row * dv, dv);
  if (g.leader()) di[row] = s;
}

// gq[row] = scale * sum_j dS_j K_j, dS_j = P_j (dO . V_j - Di), P recomputed from lse.
template <class Vec, class T>
VLV_HD void dq_row(const VlvCudaAttention& a, int64_t row, const float* lse, const float* di, const T* go, Vec& q,
                   Vec& g, Vec& acc, T* gq) {
  const RowIds r = query_row(a, row);
  const T* K = static_cast<const T*>(a.k) + r.kv * a.lk * a.d;
  const T* V = static_cast<const T*>(a.v) + r.kv * a.lk * a.dv;
  q.load(static_cast<const T*>(a.q) + row * a.d, a.d);
  g.load(go + row * a.dv, a.dv);
  acc.zero();
  const float L = lse[row], D = di[row];
  const int64_t end = L == kNegInf ? 0 : key_end(a, r.i);
  for (int64_t j = 0; j < end; ++j) {
    const float s = masked(a, q.dot(K + j * a.d, a.d), r.b, r.h, r.i, j);
    if (s == kNegInf) continue;
    const float p = expf(s - L);
    const float ds = p * (g.dot(V + j * a.dv, a.dv) - D);
    acc.axpy(ds, K + j * a.d, a.d);
  }
  acc.store(gq + row * a.d, a.d, a.scale);
}

// gk[key], gv[key] for key = (b*hkv + kvh)*lk + j: sums over every query head of the group
// and every query that sees key j, in a fixed order: dV = sum P dO, dK = scale sum dS q.
template <class Vec, class T>
VLV_HD void dkv_row(const VlvCudaAttention& a, int64_t key, const float* lse, const float* di, const T* go, Vec& k,
                    Vec& v, Vec& dk, Vec& dv, T* gk, T* gv) {
  const int64_t j = key % a.lk, kv = key / a.lk, b = kv / a.hkv, group = a.hq / a.hkv;
  const int64_t h0 = (kv % a.hkv) * group;
  k.load(static_cast<const T*>(a.k) + key * a.d, a.d);
  v.load(static_cast<const T*>(a.v) + key * a.dv, a.dv);
  dk.zero();
  dv.zero();
  const int64_t first = query_begin(a, j);
  for (int64_t h = h0; h < h0 + group; ++h) {
    const int64_t base = (b * a.hq + h) * a.lq;
    for (int64_t i = first; i < a.lq; ++i) {
      const int64_t row = base + i;
      const float L = lse[row];
      if (L == kNegInf) continue;
      const T* q = static_cast<const T*>(a.q) + row * a.d;
      const T* g = go + row * a.dv;
      const float s = masked(a, k.dot(q, a.d), b, h, i, j);
      if (s == kNegInf) continue;
      const float p = expf(s - L);
      dv.axpy(p, g, a.dv);
      const float ds = p * (v.dot(g, a.dv) - di[row]);
      dk.axpy(ds, q, a.d);
    }
  }
  dk.store(gk + key * a.d, a.d, a.scale);
  dv.store(gv + key * a.dv, a.dv, 1.f);
}

}  // namespace vlv::cuda::attn
