// The tile algorithm of the tensor-core attention (attention_tiled.cu), FlashAttention-2
// style, written once for the device and for a host emulation of a thread block (the host
// test csrc/cuda/test/attention_tiles_host_test.cc runs these very loops for 4 warps of 32
// simulated lanes against a float64 attention). Data are 16-bit (bf16 or f16, as raw bits),
// d == dv == D in {64, 80, 128}; scores, softmax and accumulators are f32.
//
// Everything that differs between the device and the host is in an execution policy X:
//   X::kLanes                      lanes this code holds per warp: 1 on the device (the
//                                  calling thread), 32 on the host (every lane of the warp)
//   X::lane(l)                     the lane id of slot l (device: threadIdx.x % 32)
//   X::mma<Dt>(d, a, b)            d += a b, one m16n8k16 (mma_frag.h layouts), f32 accumulate
//   X::quad_max(x), X::quad_sum(x) reduce over the 4 lanes of a fragment row group (shuffles)
//   X::copy16(dst, src)            16 bytes global -> shared (cp.async on the device)
//   X::commit(), X::wait_one(), X::wait_all()   cp.async groups (wait: all but the newest one)
//   X::sync()                      __syncthreads
//   X::each_thread(f)              f(t) for the block's threads t (device: this thread)
//   X::each_warp(w, f)             f(w[i], i) for the warps' states (device: this warp's)
// So a per-lane value is an array of X::kLanes (Frag), and the code between two X::sync()
// is either cooperative copying (each_thread) or one warp's tile math (each_warp).
//
// Forward (one block: 64 queries of one (batch, head); warp w owns queries 16w..16w+15):
//   for each key tile of 64 (only up to the last key a causal query of the block sees):
//   K and V tiles -> shared memory; S = Q K^T (Q fragments stay in registers), scale,
//   mask and causal/bounds on the S fragments, online softmax per row (row max over the
//   fragment then the lane quad; running max m and per-lane partial sums l), O = O alpha +
//   P V with P re-packed to 16 bits in registers. out = O / l, lse = m + log l; a row that
//   sees no key gives out = 0, lse = -inf.
// Backward (FlashAttention-2 recomputation, two kernels, no atomics, fixed orders):
//   Di = rowsum(dO * O) (the row kernel of attention.cu);
//   dQ: one block per 64 queries, key tiles of 32: P = exp(S - lse), dP = dO V^T,
//     dS = P (dP - Di), dQ += dS K; dQ = scale dQ.
//   dK, dV: one block per 64 keys of one (batch, kv head), warp w owns keys 16w..16w+15; it
//     walks every query head of the GQA group and every query tile of 32 that can see its
//     keys: P^T = exp(K Q^T - lse), dV += P^T dO, dP^T = V dO^T, dS^T = P^T (dP^T - Di),
//     dK += dS^T Q; dK = scale dK.
// Each output element is summed by one lane in one order: deterministic.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "ops/cuda/kernels/attention_rows.h"
#include "ops/cuda/kernels/mma_frag.h"

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

// Unrolled on the device, so fragment arrays stay in registers.
#if defined(__CUDACC__)
#define VLV_UNROLL _Pragma("unroll")
#else
#define VLV_UNROLL
#endif

namespace vlv::cuda::tiles {

using attn::kNegInf;

constexpr int kWarps = 4, kThreads = 32 * kWarps;
constexpr int kFwdQ = 64, kFwdK = 64;  // forward: queries per block, keys per tile
constexpr int kDqQ = 64, kDqK = 32;    // dQ: queries per block, keys per tile
constexpr int kKvK = 64, kKvQ = 32;    // dK/dV: keys per block, queries per tile

// Shared-memory row stride of a tile of head dim D: +8 halves (16 bytes) so the 32-bit
// fragment loads of the 8 row groups fall in different banks and rows stay 16-byte aligned.
template <int D>
constexpr int kLd = D + 8;

// ---- 16-bit floats as raw bits ------------------------------------------------------------
VLV_HD float f32_of_bits(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}
VLV_HD uint32_t bits_of_f32(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}
VLV_HD uint32_t ld32(const uint16_t* p) {  // two neighbouring 16-bit values, p 4-byte aligned
#if defined(__CUDA_ARCH__)
  return *reinterpret_cast<const uint32_t*>(p);
#else
  uint32_t u;
  std::memcpy(&u, p, 4);
  return u;
#endif
}
VLV_HD void st32(uint16_t* p, uint32_t u) {
#if defined(__CUDA_ARCH__)
  *reinterpret_cast<uint32_t*>(p) = u;
#else
  std::memcpy(p, &u, 4);
#endif
}

struct Bf16 {
  VLV_HD static float to_f(uint16_t h) {
#if defined(__CUDA_ARCH__)
    return __bfloat162float(__ushort_as_bfloat16(h));
#else
    return f32_of_bits(uint32_t(h) << 16);
#endif
  }
  VLV_HD static uint16_t of_f(float f) {  // round to nearest even
#if defined(__CUDA_ARCH__)
    return __bfloat16_as_ushort(__float2bfloat16_rn(f));
#else
    const uint32_t u = bits_of_f32(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // NaN stays NaN
    return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
#endif
  }
};

struct F16 {
  VLV_HD static float to_f(uint16_t h) {
#if defined(__CUDA_ARCH__)
    return __half2float(__ushort_as_half(h));
#else
    const uint32_t sign = uint32_t(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) return (sign ? -1.f : 1.f) * float(m) * 5.9604644775390625e-8f;  // m 2^-24
    if (e == 31) return f32_of_bits(sign | 0x7f800000u | (m << 13));
    return f32_of_bits(sign | ((e + 112) << 23) | (m << 13));
#endif
  }
  VLV_HD static uint16_t of_f(float f) {  // round to nearest even
#if defined(__CUDA_ARCH__)
    return __half_as_ushort(__float2half_rn(f));
#else
    uint32_t x = bits_of_f32(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u) return uint16_t(sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u));
    if (x >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // >= 65520 rounds to inf
    if (x < 0x38800000u) return uint16_t(sign | uint32_t(rintf(f32_of_bits(x) * 16777216.f)));  // subnormal
    return uint16_t(sign | ((x + 0xc8000fffu + ((x >> 13) & 1u)) >> 13));
#endif
  }
};

// Two f32 -> one register of two 16-bit values, lo in the low half (a0 before a1).
template <class Dt>
VLV_HD uint32_t pack2(float lo, float hi) {
  return uint32_t(Dt::of_f(lo)) | (uint32_t(Dt::of_f(hi)) << 16);
}

// ---- fragments ------------------------------------------------------------------------------
// N values per lane for the X::kLanes lanes this code holds.
template <class X, class T, int N>
struct Frag {
  T v[X::kLanes][N];
};
template <class X>
using FragA = Frag<X, uint32_t, 4>;  // 16x16 multiplicand
template <class X>
using FragB = Frag<X, uint32_t, 2>;  // 16x8 multiplicand
template <class X>
using FragC = Frag<X, float, 4>;  // 16x8 accumulator
template <class X>
using RowVal = Frag<X, float, 2>;  // one value per fragment row of the lane: rows g, g + 8

template <class X, int N>
VLV_HD void zero(FragC<X> (&c)[N]) {
  VLV_UNROLL
  for (int t = 0; t < N; ++t) VLV_UNROLL
  for (int l = 0; l < X::kLanes; ++l) VLV_UNROLL
  for (int e = 0; e < 4; ++e) c[t].v[l][e] = 0.f;
}

// A fragments (KS k-steps of 16) of rows [r0, r0 + 16) of a row-major [n, D] matrix in global
// memory; rows >= n are zero.
template <class X, int KS>
VLV_HD void load_a_rows(FragA<X> (&f)[KS], const uint16_t* m, int64_t r0, int64_t n, int D) {
  VLV_UNROLL
  for (int l = 0; l < X::kLanes; ++l) {
    const int lane = X::lane(l);
    VLV_UNROLL
    for (int ks = 0; ks < KS; ++ks) VLV_UNROLL
    for (int r = 0; r < 4; ++r) {
      const int64_t row = r0 + frag::a_row(lane, 2 * r);
      f[ks].v[l][r] = row < n ? ld32(m + row * D + ks * 16 + frag::a_col(lane, 2 * r)) : 0u;
    }
  }
}

// B fragment (k-step at k0, n-tile at n0) of a shared tile stored [n][k], k contiguous.
template <class X>
VLV_HD void load_b_nk(FragB<X>& b, const uint16_t* t, int ld, int k0, int n0) {
  VLV_UNROLL
  for (int l = 0; l < X::kLanes; ++l) {
    const int lane = X::lane(l);
    VLV_UNROLL
    for (int r = 0; r < 2; ++r)
      b.v[l][r] = ld32(t + (n0 + frag::b_col(lane, 2 * r)) * ld + k0 + frag::b_row(lane, 2 * r));
  }
}

// B fragment of a shared tile stored [k][n], n contiguous: two 16-bit loads per register.
template <class X>
VLV_HD void load_b_kn(FragB<X>& b, const uint16_t* t, int ld, int k0, int n0) {
  VLV_UNROLL
  for (int l = 0; l < X::kLanes; ++l) {
    const int lane = X::lane(l);
    VLV_UNROLL
    for (int r = 0; r < 2; ++r) {
      const uint16_t* p = t + (k0 + frag::b_row(lane, 2 * r)) * ld + n0 + frag::b_col(lane, 2 * r);
      b.v[l][r] = uint32_t(p[0]) | (uint32_t(p[ld]) << 16);
    }
  }
}

// c[NT] = A B where A's rows are this warp's 16 rows (KS k-steps in registers) and B^T is a
// shared tile [8 NT][D] (D = 16 KS contiguous): S = Q K^T, dP = dO V^T and their transposes.
template <class X, class Dt, int KS, int NT>
VLV_HD void product_nk(FragC<X> (&c)[NT], const FragA<X> (&a)[KS], const uint16_t* t, int ld) {
  zero(c);
  FragB<X> b;
  VLV_UNROLL
  for (int ks = 0; ks < KS; ++ks) VLV_UNROLL
  for (int nt = 0; nt < NT; ++nt) {
    load_b_nk(b, t, ld, ks * 16, nt * 8);
    X::template mma<Dt>(c[nt], a[ks], b);
  }
}

// acc[NT] += P B where P (16 x 8 PT, f32 C fragments) is re-packed in registers as the A
// operand and B is a shared tile [8 PT][8 NT] with its n contiguous: O += P V, dQ += dS K,
// dV += P^T dO, dK += dS^T Q.
template <class X, class Dt, int PT, int NT>
VLV_HD void accumulate_kn(FragC<X> (&acc)[NT], const FragC<X> (&p)[PT], const uint16_t* t, int ld) {
  FragA<X> a;
  FragB<X> b;
  VLV_UNROLL
  for (int kk = 0; kk < PT / 2; ++kk) {
    VLV_UNROLL
    for (int l = 0; l < X::kLanes; ++l) {
      const float* c0 = p[2 * kk].v[l];
      const float* c1 = p[2 * kk + 1].v[l];
      a.v[l][0] = pack2<Dt>(c0[0], c0[1]);
      a.v[l][1] = pack2<Dt>(c0[2], c0[3]);
      a.v[l][2] = pack2<Dt>(c1[0], c1[1]);
      a.v[l][3] = pack2<Dt>(c1[2], c1[3]);
    }
    VLV_UNROLL
    for (int nt = 0; nt < NT; ++nt) {
      load_b_kn(b, t, ld, kk * 16, nt * 8);
      X::template mma<Dt>(acc[nt], a, b);
    }
  }
}

// Does query i see key j (bounds and causal)? The mask is applied by attn::masked.
VLV_HD bool visible(const VlvCudaAttention& a, int64_t i, int64_t j) {
  return i < a.lq && j < a.lk && (!a.causal || j <= i + a.lk - a.lq);
}
// The scaled, masked score of (i, j), -inf where not visible.
VLV_HD float score(const VlvCudaAttention& a, float dot, int64_t b, int64_t h, int64_t i, int64_t j) {
  return visible(a, i, j) ? attn::masked(a, dot, b, h, i, j) : kNegInf;
}

// Keys [0, end) seen by any query below `qend` (a block's key loop bound).
VLV_HD int64_t keys_for_queries(const VlvCudaAttention& a, int64_t qend) {
  return qend > a.lq ? a.lk : attn::key_end(a, qend - 1);
}

// Rows [row0, row0 + rows) of a row-major [n, D] 16-bit matrix into a shared tile (ld
// halves per row), 16 bytes per copy, spread over the block's threads; rows >= n are zeroed.
template <class X>
VLV_HD void load_tile(uint16_t* tile, int ld, const uint16_t* m, int64_t row0, int64_t n, int rows, int D, int t) {
  const int chunks = D / 8;
  for (int c = t; c < rows * chunks; c += kThreads) {
    const int r = c / chunks, k = (c % chunks) * 8;
    uint16_t* dst = tile + r * ld + k;
    if (row0 + r < n) {
      X::copy16(dst, m + (row0 + r) * D + k);
    } else {
      for (int z = 0; z < 8; ++z) dst[z] = 0;
    }
  }
}

struct Head {
  int64_t b, h, kv;  // batch, query head, (batch, kv head) index
};
VLV_HD Head head_of(const VlvCudaAttention& a, int64_t bh) {
  Head r;
  r.b = bh / a.hq;
  r.h = bh % a.hq;
  r.kv = r.b * a.hkv + r.h / (a.hq / a.hkv);
  return r;
}

// Rows tiles of K and V (forward, dQ).
template <int Rows, int D>
struct KvTiles {
  uint16_t k[Rows * kLd<D>];
  uint16_t v[Rows * kLd<D>];
};

// The warp's 16 rows [r0, r0 + 16) of an accumulator (c[NT] covers D = 8 NT columns) into a
// row-major [n, D] 16-bit matrix, each row times scale(lane slot, fragment row 0 / 1).
template <class X, class Dt, int NT, class Scale>
VLV_HD void store_rows(const FragC<X> (&c)[NT], uint16_t* m, int64_t r0, int64_t n, Scale scale) {
  VLV_UNROLL
  for (int ln = 0; ln < X::kLanes; ++ln) {
    const int lane = X::lane(ln);
    VLV_UNROLL
    for (int r = 0; r < 2; ++r) {
      const int64_t row = r0 + frag::group(lane) + 8 * r;
      if (row >= n) continue;
      const float sc = scale(ln, r);
      VLV_UNROLL
      for (int nt = 0; nt < NT; ++nt)
        st32(m + row * (8 * NT) + nt * 8 + frag::c_col(lane, 2 * r),
             pack2<Dt>(c[nt].v[ln][2 * r] * sc, c[nt].v[ln][2 * r + 1] * sc));
    }
  }
}

// ---- forward --------------------------------------------------------------------------------
template <int D>
using FwdSmem = KvTiles<kFwdK, D>;

template <class X, class Dt, int D>
struct FwdWarp {
  static constexpr int KS = D / 16, NT = D / 8, ST = kFwdK / 8;
  FragA<X> q[KS];
  FragC<X> o[NT], s[ST];
  RowVal<X> row_max, row_sum;  // running max; this lane's part of the running sum
  int64_t i0;                  // first query of the warp

  VLV_HD void start(const VlvCudaAttention& a, int64_t bh, int64_t q0) {
    i0 = q0;
    load_a_rows(q, static_cast<const uint16_t*>(a.q) + bh * a.lq * D, q0, a.lq, D);
    zero(o);
    VLV_UNROLL
    for (int lane = 0; lane < X::kLanes; ++lane) VLV_UNROLL
    for (int r = 0; r < 2; ++r) row_max.v[lane][r] = kNegInf, row_sum.v[lane][r] = 0.f;
  }
  // Does any query of the warp see a key of the tile at key0?
  VLV_HD bool active(const VlvCudaAttention& a, int64_t key0) const {
    return i0 < a.lq && key0 < keys_for_queries(a, i0 + 16);
  }
  // S of the key tile, masked; online softmax update of m, l, o; s becomes P.
  VLV_HD void scores(const VlvCudaAttention& a, const Head& hd, const FwdSmem<D>& sm, int64_t key0) {
    product_nk<X, Dt>(s, q, sm.k, kLd<D>);
    VLV_UNROLL
    for (int l = 0; l < X::kLanes; ++l) {
      const int lane = X::lane(l);
      float mx[2] = {kNegInf, kNegInf};
      VLV_UNROLL
      for (int nt = 0; nt < ST; ++nt) VLV_UNROLL
      for (int e = 0; e < 4; ++e) {
        float& x = s[nt].v[l][e];
        x = score(a, x, hd.b, hd.h, i0 + frag::c_row(lane, e), key0 + nt * 8 + frag::c_col(lane, e));
        mx[e >> 1] = fmaxf(mx[e >> 1], x);
      }
      VLV_UNROLL
      for (int r = 0; r < 2; ++r) s_max.v[l][r] = mx[r];
    }
    X::quad_max(s_max);
    VLV_UNROLL
    for (int l = 0; l < X::kLanes; ++l) {
      float alpha[2], mnew[2];
      VLV_UNROLL
      for (int r = 0; r < 2; ++r) {
        mnew[r] = fmaxf(row_max.v[l][r], s_max.v[l][r]);
        alpha[r] = mnew[r] == kNegInf ? 1.f : expf(row_max.v[l][r] - mnew[r]);  // 0 when max was -inf
        row_max.v[l][r] = mnew[r];
        row_sum.v[l][r] *= alpha[r];
      }
      VLV_UNROLL
      for (int nt = 0; nt < NT; ++nt) VLV_UNROLL
      for (int e = 0; e < 4; ++e) o[nt].v[l][e] *= alpha[e >> 1];
      VLV_UNROLL
      for (int nt = 0; nt < ST; ++nt) VLV_UNROLL
      for (int e = 0; e < 4; ++e) {
        float& x = s[nt].v[l][e];
        x = x == kNegInf ? 0.f : expf(x - mnew[e >> 1]);
        row_sum.v[l][e >> 1] += x;
      }
    }
  }
  RowVal<X> s_max;  // the tile's row maxima

  VLV_HD void accumulate(const FwdSmem<D>& sm) { accumulate_kn<X, Dt>(o, s, sm.v, kLd<D>); }
  VLV_HD void finish(const VlvCudaAttention& a, int64_t bh, uint16_t* out, float* lse) {
    X::quad_sum(row_sum);
    store_rows<X, Dt>(o, out + bh * a.lq * D, i0, a.lq,
                      [&](int ln, int r) { return row_sum.v[ln][r] > 0.f ? 1.f / row_sum.v[ln][r] : 0.f; });
    VLV_UNROLL
    for (int ln = 0; ln < X::kLanes; ++ln) {
      const int lane = X::lane(ln);
      VLV_UNROLL
      for (int r = 0; r < 2; ++r) {
        const int64_t i = i0 + frag::group(lane) + 8 * r;
        const float sum = row_sum.v[ln][r];
        if (i < a.lq && frag::tig(lane) == 0) lse[bh * a.lq + i] = sum > 0.f ? row_max.v[ln][r] + logf(sum) : kNegInf;
      }
    }
  }
};

// One forward block: queries [q0, q0 + 64) of (batch, head) bh.
template <class X, class Dt, int D>
VLV_HD void forward_block(const VlvCudaAttention& a, int64_t bh, int64_t q0, FwdSmem<D>& sm, FwdWarp<X, Dt, D>* w,
                          uint16_t* out, float* lse) {
  const Head hd = head_of(a, bh);
  const uint16_t* K = static_cast<const uint16_t*>(a.k) + hd.kv * a.lk * D;
  const uint16_t* V = static_cast<const uint16_t*>(a.v) + hd.kv * a.lk * D;
  X::each_warp(w, [&](FwdWarp<X, Dt, D>& ww, int warp) { ww.start(a, bh, q0 + 16 * warp); });
  const int64_t end = keys_for_queries(a, q0 + kFwdQ);
  for (int64_t key0 = 0; key0 < end; key0 += kFwdK) {
    X::sync();  // the previous tiles are consumed
    X::each_thread([&](int t) { load_tile<X>(sm.k, kLd<D>, K, key0, a.lk, kFwdK, D, t); });
    X::commit();
    X::each_thread([&](int t) { load_tile<X>(sm.v, kLd<D>, V, key0, a.lk, kFwdK, D, t); });
    X::commit();
    X::wait_one();  // K has arrived; V may still be in flight during S
    X::sync();
    X::each_warp(w, [&](FwdWarp<X, Dt, D>& ww, int) {
      if (ww.active(a, key0)) ww.scores(a, hd, sm, key0);
    });
    X::wait_all();
    X::sync();
    X::each_warp(w, [&](FwdWarp<X, Dt, D>& ww, int) {
      if (ww.active(a, key0)) ww.accumulate(sm);
    });
  }
  X::each_warp(w, [&](FwdWarp<X, Dt, D>& ww, int) { ww.finish(a, bh, out, lse); });
}

// ---- backward: dQ ---------------------------------------------------------------------------
template <int D>
using DqSmem = KvTiles<kDqK, D>;

template <class X, class Dt, int D>
struct DqWarp {
  static constexpr int KS = D / 16, NT = D / 8, ST = kDqK / 8;
  FragA<X> q[KS], g[KS];  // Q and dO rows of the warp
  FragC<X> dq[NT];
  RowVal<X> L, Di;  // lse and rowsum(dO O) of the lane's two rows
  int64_t i0;

  VLV_HD void start(const VlvCudaAttention& a, int64_t bh, int64_t q0, const float* lse, const float* di,
                    const uint16_t* go) {
    i0 = q0;
    load_a_rows(q, static_cast<const uint16_t*>(a.q) + bh * a.lq * D, q0, a.lq, D);
    load_a_rows(g, go + bh * a.lq * D, q0, a.lq, D);
    zero(dq);
    VLV_UNROLL
    for (int l = 0; l < X::kLanes; ++l) VLV_UNROLL
    for (int r = 0; r < 2; ++r) {
      const int64_t i = q0 + frag::group(X::lane(l)) + 8 * r;
      L.v[l][r] = i < a.lq ? lse[bh * a.lq + i] : kNegInf;
      Di.v[l][r] = i < a.lq ? di[bh * a.lq + i] : 0.f;
    }
  }
  VLV_HD bool active(const VlvCudaAttention& a, int64_t key0) const {
    return i0 < a.lq && key0 < keys_for_queries(a, i0 + 16);
  }
  VLV_HD void step(const VlvCudaAttention& a, const Head& hd, const DqSmem<D>& sm, int64_t key0) {
    FragC<X> p[ST], dp[ST];
    product_nk<X, Dt>(p, q, sm.k, kLd<D>);
    product_nk<X, Dt>(dp, g, sm.v, kLd<D>);
    VLV_UNROLL
    for (int l = 0; l < X::kLanes; ++l) {
      const int lane = X::lane(l);
      VLV_UNROLL
      for (int nt = 0; nt < ST; ++nt) VLV_UNROLL
      for (int e = 0; e < 4; ++e) {
        const float Lr = L.v[l][e >> 1];
        const float s =
            score(a, p[nt].v[l][e], hd.b, hd.h, i0 + frag::c_row(lane, e), key0 + nt * 8 + frag::c_col(lane, e));
        const float pr = s == kNegInf || Lr == kNegInf ? 0.f : expf(s - Lr);
        p[nt].v[l][e] = pr * (dp[nt].v[l][e] - Di.v[l][e >> 1]);  // dS
      }
    }
    accumulate_kn<X, Dt>(dq, p, sm.k, kLd<D>);
  }
  VLV_HD void finish(const VlvCudaAttention& a, int64_t bh, uint16_t* gq) {
    store_rows<X, Dt>(dq, gq + bh * a.lq * D, i0, a.lq, [&](int, int) { return a.scale; });
  }
};

template <class X, class Dt, int D>
VLV_HD void dq_block(const VlvCudaAttention& a, int64_t bh, int64_t q0, DqSmem<D>& sm, DqWarp<X, Dt, D>* w,
                     const float* lse, const float* di, const uint16_t* go, uint16_t* gq) {
  const Head hd = head_of(a, bh);
  const uint16_t* K = static_cast<const uint16_t*>(a.k) + hd.kv * a.lk * D;
  const uint16_t* V = static_cast<const uint16_t*>(a.v) + hd.kv * a.lk * D;
  X::each_warp(w, [&](DqWarp<X, Dt, D>& ww, int warp) { ww.start(a, bh, q0 + 16 * warp, lse, di, go); });
  const int64_t end = keys_for_queries(a, q0 + kDqQ);
  for (int64_t key0 = 0; key0 < end; key0 += kDqK) {
    X::sync();
    X::each_thread([&](int t) {
      load_tile<X>(sm.k, kLd<D>, K, key0, a.lk, kDqK, D, t);
      load_tile<X>(sm.v, kLd<D>, V, key0, a.lk, kDqK, D, t);
    });
    X::commit();
    X::wait_all();
    X::sync();
    X::each_warp(w, [&](DqWarp<X, Dt, D>& ww, int) {
      if (ww.active(a, key0)) ww.step(a, hd, sm, key0);
    });
  }
  X::each_warp(w, [&](DqWarp<X, Dt, D>& ww, int) { ww.finish(a, bh, gq); });
}

// ---- backward: dK, dV -----------------------------------------------------------------------
template <int D>
struct KvSmem {
  uint16_t q[kKvQ * kLd<D>];
  uint16_t g[kKvQ * kLd<D>];
  float lse[kKvQ], di[kKvQ];
};

template <class X, class Dt, int D>
struct KvWarp {
  static constexpr int KS = D / 16, NT = D / 8, ST = kKvQ / 8;
  FragA<X> k[KS], v[KS];  // K and V rows of the warp's 16 keys
  FragC<X> dk[NT], dv[NT];
  int64_t j0;  // first key of the warp

  VLV_HD void start(const VlvCudaAttention& a, int64_t kv, int64_t key0) {
    j0 = key0;
    load_a_rows(k, static_cast<const uint16_t*>(a.k) + kv * a.lk * D, key0, a.lk, D);
    load_a_rows(v, static_cast<const uint16_t*>(a.v) + kv * a.lk * D, key0, a.lk, D);
    zero(dk);
    zero(dv);
  }
  // Does a query of the tile at q0 see a key of the warp?
  VLV_HD bool active(const VlvCudaAttention& a, int64_t q0) const {
    return j0 < a.lk && q0 + kKvQ > attn::query_begin(a, j0);
  }
  VLV_HD void step(const VlvCudaAttention& a, int64_t b, int64_t h, const KvSmem<D>& sm, int64_t q0) {
    FragC<X> p[ST], dp[ST];
    product_nk<X, Dt>(p, k, sm.q, kLd<D>);   // S^T: rows keys, columns queries
    product_nk<X, Dt>(dp, v, sm.g, kLd<D>);  // dP^T
    VLV_UNROLL
    for (int l = 0; l < X::kLanes; ++l) {
      const int lane = X::lane(l);
      VLV_UNROLL
      for (int nt = 0; nt < ST; ++nt) VLV_UNROLL
      for (int e = 0; e < 4; ++e) {
        const int c = nt * 8 + frag::c_col(lane, e);
        const float s = score(a, p[nt].v[l][e], b, h, q0 + c, j0 + frag::c_row(lane, e));
        const float pr = s == kNegInf || sm.lse[c] == kNegInf ? 0.f : expf(s - sm.lse[c]);
        p[nt].v[l][e] = pr;
        dp[nt].v[l][e] = pr * (dp[nt].v[l][e] - sm.di[c]);  // dS^T
      }
    }
    accumulate_kn<X, Dt>(dv, p, sm.g, kLd<D>);
    accumulate_kn<X, Dt>(dk, dp, sm.q, kLd<D>);
  }
  VLV_HD void finish(const VlvCudaAttention& a, int64_t kv, uint16_t* gk, uint16_t* gv) {
    store_rows<X, Dt>(dk, gk + kv * a.lk * D, j0, a.lk, [&](int, int) { return a.scale; });
    store_rows<X, Dt>(dv, gv + kv * a.lk * D, j0, a.lk, [&](int, int) { return 1.f; });
  }
};

// One dK/dV block: keys [key0, key0 + 64) of (batch, kv head) kv, over every query head of
// its group and every query that sees them.
template <class X, class Dt, int D>
VLV_HD void dkv_block(const VlvCudaAttention& a, int64_t kv, int64_t key0, KvSmem<D>& sm, KvWarp<X, Dt, D>* w,
                      const float* lse, const float* di, const uint16_t* go, uint16_t* gk, uint16_t* gv) {
  const int64_t b = kv / a.hkv, group = a.hq / a.hkv, h0 = (kv % a.hkv) * group;
  X::each_warp(w, [&](KvWarp<X, Dt, D>& ww, int warp) { ww.start(a, kv, key0 + 16 * warp); });
  const int64_t first = attn::query_begin(a, key0);
  for (int64_t h = h0; h < h0 + group; ++h) {
    const int64_t base = (b * a.hq + h) * a.lq;
    const uint16_t* Q = static_cast<const uint16_t*>(a.q) + base * D;
    const uint16_t* G = go + base * D;
    for (int64_t q0 = first; q0 < a.lq; q0 += kKvQ) {
      X::sync();
      X::each_thread([&](int t) {
        load_tile<X>(sm.q, kLd<D>, Q, q0, a.lq, kKvQ, D, t);
        load_tile<X>(sm.g, kLd<D>, G, q0, a.lq, kKvQ, D, t);
        if (t < kKvQ) {
          const bool in = q0 + t < a.lq;
          sm.lse[t] = in ? lse[base + q0 + t] : kNegInf;
          sm.di[t] = in ? di[base + q0 + t] : 0.f;
        }
      });
      X::commit();
      X::wait_all();
      X::sync();
      X::each_warp(w, [&](KvWarp<X, Dt, D>& ww, int) {
        if (ww.active(a, q0)) ww.step(a, b, h, sm, q0);
      });
    }
  }
  X::each_warp(w, [&](KvWarp<X, Dt, D>& ww, int) { ww.finish(a, kv, gk, gv); });
}

}  // namespace vlv::cuda::tiles
