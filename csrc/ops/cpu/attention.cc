// attention: fused scaled-dot-product attention on the CPU, FlashAttention-2 style.
//   out = softmax(scale * q k^T + mask) v, lse = logsumexp of the same scores (natural log),
//   q[B,Hq,Lq,D], k[B,Hkv,Lk,D], v[B,Hkv,Lk,Dv]; query head h reads kv head h / (Hq/Hkv)
//   (no copy of K/V); mask bool (true = attend) or f32 (added), broadcastable to
//   [B,Hq,Lq,Lk]; causal is bottom-right aligned (query i sees keys j <= i + Lk - Lq).
//   A row that sees no key gives out = 0 and lse = -inf.
// Forward: one task per (batch, head, block of kBQ queries); keys in blocks of kBK with an
//   online softmax (running max and sum per row), so only a kBQ x kBK score tile exists.
//   K^T (times scale) is packed once per call in [key block][D][kBK] panels.
// Backward (attention_backward: the fused kernel of the rule in ops/grad/attention.cc, given
//   the forward's out and lse): recomputes P = exp(S - lse) per tile, D_i = rowsum(dO * O).
//   One task per (batch, kv head, chunk of key blocks): key blocks outer, every query head
//   of the group and every query block inner; dK and dV accumulate in a tile, dQ in the
//   output (or, when the keys are split into several chunks to have enough tasks, in one
//   partial buffer per chunk summed in chunk order afterwards). The split depends on the shape only, so results do
//   not depend on the thread count.
// Tile products and exp are in attention_tiles.cc (scalar / AVX2 / AVX-512).
// Measured on the 2-core Zen 4 dev box, one head of 1024 or 4096 x 64, one thread: forward
//   ~85 GFLOP/s, backward ~90 GFLOP/s (5 tile products) with AVX-512; ~50 with AVX2; ~16-19
//   scalar. Against PyTorch 1.13 matmul-softmax-matmul on 2 threads (bench/attention.bench.ts,
//   B=1 H=8, medians of 4 runs on a shared box): forward 2.7-4.9x and backward 2.0-2.8x faster
//   at L >= 1024 (D 64 and 128; cross 4096 x 77: 3.6x / 2.4x); about even at L = 77.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "ops/check/attention.h"
#include "ops/cpu/attention_tiles.h"
#include "ops/cpu/inputs.h"
#include "ops/kernel.h"

namespace vlv::cpu {
namespace {

constexpr int64_t kBQ = 64;   // queries per tile
constexpr int64_t kBK = 128;  // keys per tile
constexpr int64_t kMinBackwardTasks = 8;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Mask element (b, h, i, j) lives at data[b*sb + h*sh + i*si + j*sj] (stride 0 where broadcast).
struct MaskView {
  const float* add = nullptr;     // f32 mask
  const uint8_t* keep = nullptr;  // bool mask
  int64_t sb = 0, sh = 0, si = 0, sj = 0;
  bool defined() const { return add || keep; }
};

struct Geometry {
  int64_t B, Hq, Hkv, group, Lq, Lk, D, Dv, offset;  // offset = Lk - Lq (causal diagonal)
  bool causal;
  float scale;
  MaskView mask;
};

MaskView mask_view(const Tensor& mask, const AttentionShape& shape) {
  MaskView mv;
  if (!mask.defined()) return mv;
  const std::array<int64_t, 4> st = attention_mask_strides(mask, shape);
  if (mask.dtype() == DType::F32) mv.add = mask.data<float>();
  else mv.keep = mask.data<uint8_t>();
  mv.sb = st[0], mv.sh = st[1], mv.si = st[2], mv.sj = st[3];
  return mv;
}

Geometry check_inputs(const Tensors& in, const Attrs& attrs) {
  const Tensor &q = input(in, 0), &k = input(in, 1), &v = input(in, 2);
  const AttentionShape sh = attention_shape(q, k, v, attrs);
  check_float(q, "attention", "q");
  check_float(k, "attention", "k");
  check_float(v, "attention", "v");
  Geometry g;
  g.B = sh.b, g.Hq = sh.hq, g.Lq = sh.lq, g.D = sh.d, g.Hkv = sh.hkv, g.Lk = sh.lk, g.Dv = sh.dv;
  g.group = g.Hq / g.Hkv;
  g.offset = g.Lk - g.Lq;
  g.causal = sh.causal;
  g.scale = sh.scale;
  g.mask = mask_view(input(in, 3), sh);
  return g;
}

// Adds the mask and the causal limit to the score tile S[rows, cols] of queries i0.. and keys j0...
void mask_tile(const Geometry& g, int64_t b, int64_t h, int64_t i0, int64_t j0, float* S, int64_t ldS, int64_t rows,
               int64_t cols) {
  const MaskView& m = g.mask;
  for (int64_t r = 0; r < rows; ++r) {
    float* s = S + r * ldS;
    const int64_t i = i0 + r;
    if (m.defined()) {
      const int64_t base = b * m.sb + h * m.sh + i * m.si + j0 * m.sj;
      if (m.add) {
        const float* a = m.add + base;
        for (int64_t c = 0; c < cols; ++c) s[c] += a[c * m.sj];
      } else {
        const uint8_t* kp = m.keep + base;
        for (int64_t c = 0; c < cols; ++c) s[c] = kp[c * m.sj] ? s[c] : kNegInf;
      }
    }
    if (g.causal) {
      const int64_t first_hidden = std::max<int64_t>(0, i + g.offset + 1 - j0);
      for (int64_t c = first_hidden; c < cols; ++c) s[c] = kNegInf;
    }
  }
}

// Asks for the next tile's operands while this one computes (long sequences stream K/V or
// Q/dO/dQ from L3: without it the first row group of each tile product stalls on them).
void prefetch(const float* p, int64_t floats) {
  const char* c = reinterpret_cast<const char*>(p);
  for (int64_t off = 0; off < floats * int64_t(sizeof(float)); off += 64) __builtin_prefetch(c + off, 0, 2);
}

// Keys [0, end) that any query of [i0, i1) may see.
int64_t key_end(const Geometry& g, int64_t i1) { return g.causal ? std::clamp<int64_t>(i1 + g.offset, 0, g.Lk) : g.Lk; }

// kt[kv][key block][d][kBK] = scale * k[kv][key][d]: the B operand of S = Q K^T.
std::vector<float> pack_kt(const Geometry& g, const float* k) {
  const int64_t nkb = (g.Lk + kBK - 1) / kBK;
  std::vector<float> kt(size_t(g.B * g.Hkv * nkb * g.D * kBK), 0.f);
  parallel_for(g.B * g.Hkv * nkb, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t kv = t / nkb, j0 = (t % nkb) * kBK, nb = std::min(kBK, g.Lk - j0);
      const float* src = k + (kv * g.Lk + j0) * g.D;
      float* dst = kt.data() + t * g.D * kBK;
      for (int64_t c = 0; c < nb; ++c)
        for (int64_t d = 0; d < g.D; ++d) dst[d * kBK + c] = g.scale * src[c * g.D + d];
    }
  });
  return kt;
}

}  // namespace

Tensors attention(const Tensors& in, const Attrs& attrs, Saved*) {
  const Geometry g = check_inputs(in, attrs);
  const TileOps& ops = tile_ops(simd_level());
  Tensor out = Tensor::empty({g.B, g.Hq, g.Lq, g.Dv}, DType::F32);
  Tensor lse = Tensor::empty({g.B, g.Hq, g.Lq}, DType::F32);
  const float* v = in[2].data<float>();
  const float* q = in[0].data<float>();
  float* o = out.data<float>();
  float* ls = lse.data<float>();
  const std::vector<float> kt = pack_kt(g, in[1].data<float>());
  const int64_t nqb = (g.Lq + kBQ - 1) / kBQ, nkb = (g.Lk + kBK - 1) / kBK;

  parallel_for(g.B * g.Hq * nqb, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> S(size_t(kBQ * kBK)), O(size_t(kBQ * g.Dv)), m(kBQ), l(kBQ);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t bh = t / nqb, b = bh / g.Hq, h = bh % g.Hq, kv = b * g.Hkv + h / g.group;
      const int64_t i0 = (t % nqb) * kBQ, rows = std::min(kBQ, g.Lq - i0);
      const float* qt = q + (bh * g.Lq + i0) * g.D;
      std::fill(O.begin(), O.end(), 0.f);
      std::fill(m.begin(), m.end(), kNegInf);
      std::fill(l.begin(), l.end(), 0.f);
      const int64_t kend = key_end(g, i0 + rows);
      for (int64_t j0 = 0; j0 < kend; j0 += kBK) {
        const int64_t cols = std::min(kBK, kend - j0);
        if (j0 + kBK < kend) {
          prefetch(kt.data() + (kv * nkb + j0 / kBK + 1) * g.D * kBK, g.D * kBK);
          prefetch(v + (kv * g.Lk + j0 + kBK) * g.Dv, std::min(kBK, kend - j0 - kBK) * g.Dv);
        }
        ops.gemm(rows, cols, g.D, qt, g.D, 1, kt.data() + (kv * nkb + j0 / kBK) * g.D * kBK, kBK, S.data(), kBK, false);
        mask_tile(g, b, h, i0, j0, S.data(), kBK, rows, cols);
        for (int64_t r = 0; r < rows; ++r) {
          float* s = S.data() + r * kBK;
          const float m_new = std::max(m[r], ops.row_max(s, cols));
          if (m_new == kNegInf) {  // nothing seen yet in this row
            std::fill(s, s + cols, 0.f);
            continue;
          }
          const float alpha = std::exp(m[r] - m_new);
          l[r] = l[r] * alpha + ops.exp_sum(s, cols, m_new);
          m[r] = m_new;
          if (alpha != 1.f)
            for (int64_t c = 0; c < g.Dv; ++c) O[size_t(r * g.Dv + c)] *= alpha;
        }
        ops.gemm(rows, g.Dv, cols, S.data(), kBK, 1, v + (kv * g.Lk + j0) * g.Dv, g.Dv, O.data(), g.Dv, true);
      }
      for (int64_t r = 0; r < rows; ++r) {
        const float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
        float* dst = o + (bh * g.Lq + i0 + r) * g.Dv;
        for (int64_t c = 0; c < g.Dv; ++c) dst[c] = O[size_t(r * g.Dv + c)] * inv;
        ls[bh * g.Lq + i0 + r] = l[r] > 0.f ? m[r] + std::log(l[r]) : kNegInf;
      }
    }
  });
  return {out, lse};
}

// q, k, v, mask, out, lse, gout -> (dq, dk, dv) as attrs needs asks.
Tensors attention_backward(const Tensors& in, const Attrs& attrs, Saved*) {
  const Geometry g = check_inputs(in, attrs);
  const bool want_q = wants_grad(attrs, 0), want_k = wants_grad(attrs, 1), want_v = wants_grad(attrs, 2);
  Tensor dq = Tensor::zeros({g.B, g.Hq, g.Lq, g.D}, DType::F32);
  Tensor dk = Tensor::zeros({g.B, g.Hkv, g.Lk, g.D}, DType::F32);
  Tensor dv = Tensor::zeros({g.B, g.Hkv, g.Lk, g.Dv}, DType::F32);
  const Tensor& gout = input(in, 6);
  auto result = [&]() -> Tensors { return {want_q ? dq : Tensor(), want_k ? dk : Tensor(), want_v ? dv : Tensor()}; };
  if (g.Lq == 0 || g.Lk == 0) return result();
  const TileOps& ops = tile_ops(simd_level());
  const float *q = in[0].data<float>(), *k = in[1].data<float>(), *v = in[2].data<float>();
  const float *o = input(in, 4).data<float>(), *lse = input(in, 5).data<float>();
  const Tensor go_f32 = gout.contiguous_f32();
  const float* go = go_f32.data<float>();

  // D_i = rowsum(dO * O).
  std::vector<float> Di(size_t(g.B * g.Hq * g.Lq));
  parallel_for(g.B * g.Hq * g.Lq, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float s = 0.f;
      for (int64_t c = 0; c < g.Dv; ++c) s += go[r * g.Dv + c] * o[r * g.Dv + c];
      Di[size_t(r)] = s;
    }
  });

  // Split the keys of each (batch, kv head) into chunks of whole key blocks when there are
  // too few (batch, kv head) pairs to keep the pool busy; each chunk writes its own dQ part.
  const int64_t nkb = (g.Lk + kBK - 1) / kBK, pairs = g.B * g.Hkv;
  const int64_t want_chunks =
      std::min(nkb, std::max<int64_t>(1, (kMinBackwardTasks + pairs - 1) / std::max<int64_t>(pairs, 1)));
  const int64_t kb_per_chunk = (nkb + want_chunks - 1) / want_chunks;
  const int64_t nchunks = (nkb + kb_per_chunk - 1) / kb_per_chunk;
  const int64_t dq_size = dq.numel();
  std::vector<float> dq_parts(nchunks > 1 ? size_t(nchunks * dq_size) : 0);

  parallel_for(pairs * nchunks, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> Kt(size_t(g.D * kBK)), Vt(size_t(g.Dv * kBK)), S(size_t(kBQ * kBK)), dP(size_t(kBQ * kBK));
    std::vector<float> dK(size_t(kBK * g.D)), dV(size_t(kBK * g.Dv));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t kv = t / nchunks, chunk = t % nchunks, b = kv / g.Hkv, hk = kv % g.Hkv;
      float* dq_out = nchunks > 1 ? dq_parts.data() + chunk * dq_size : dq.data<float>();
      const int64_t jb_end = std::min(nkb, (chunk + 1) * kb_per_chunk);
      for (int64_t jb = chunk * kb_per_chunk; jb < jb_end; ++jb) {
        const int64_t j0 = jb * kBK, cols = std::min(kBK, g.Lk - j0);
        const float* kb = k + (kv * g.Lk + j0) * g.D;
        const float* vb = v + (kv * g.Lk + j0) * g.Dv;
        for (int64_t c = 0; c < cols; ++c) {
          for (int64_t d = 0; d < g.D; ++d) Kt[size_t(d * kBK + c)] = g.scale * kb[c * g.D + d];
          for (int64_t d = 0; d < g.Dv; ++d) Vt[size_t(d * kBK + c)] = vb[c * g.Dv + d];
        }
        std::fill(dK.begin(), dK.end(), 0.f);
        std::fill(dV.begin(), dV.end(), 0.f);
        // Queries that see key j0 at all (causal: i + offset >= j0).
        const int64_t i_begin = g.causal ? std::clamp<int64_t>(j0 - g.offset, 0, g.Lq) : 0;
        for (int64_t h = hk * g.group; h < (hk + 1) * g.group; ++h) {
          const int64_t bh = b * g.Hq + h;
          for (int64_t i0 = i_begin; i0 < g.Lq; i0 += kBQ) {
            const int64_t rows = std::min(kBQ, g.Lq - i0);
            const float* qt = q + (bh * g.Lq + i0) * g.D;
            const float* got = go + (bh * g.Lq + i0) * g.Dv;
            if (i0 + kBQ < g.Lq) {
              const int64_t next = std::min(kBQ, g.Lq - i0 - kBQ);
              prefetch(qt + kBQ * g.D, next * g.D);
              prefetch(got + kBQ * g.Dv, next * g.Dv);
              prefetch(dq_out + (bh * g.Lq + i0 + kBQ) * g.D, next * g.D);
            }
            ops.gemm(rows, cols, g.D, qt, g.D, 1, Kt.data(), kBK, S.data(), kBK, false);
            mask_tile(g, b, h, i0, j0, S.data(), kBK, rows, cols);
            for (int64_t r = 0; r < rows; ++r) {
              float* s = S.data() + r * kBK;
              const float L = lse[bh * g.Lq + i0 + r];
              if (L == kNegInf) std::fill(s, s + cols, 0.f);
              else ops.exp_sum(s, cols, L);
            }
            ops.gemm(cols, g.Dv, rows, S.data(), 1, kBK, got, g.Dv, dV.data(), g.Dv, true);   // dV += P^T dO
            ops.gemm(rows, cols, g.Dv, got, g.Dv, 1, Vt.data(), kBK, dP.data(), kBK, false);  // dP = dO V^T
            for (int64_t r = 0; r < rows; ++r) {  // dS = scale * P * (dP - D_i), into dP
              const float di = Di[size_t(bh * g.Lq + i0 + r)];
              float *p = S.data() + r * kBK, *ds = dP.data() + r * kBK;
              for (int64_t c = 0; c < cols; ++c) ds[c] = g.scale * p[c] * (ds[c] - di);
            }
            ops.gemm(cols, g.D, rows, dP.data(), 1, kBK, qt, g.D, dK.data(), g.D, true);  // dK += dS^T Q
            ops.gemm(rows, g.D, cols, dP.data(), kBK, 1, kb, g.D, dq_out + (bh * g.Lq + i0) * g.D, g.D,
                     true);  // dQ += dS K
          }
        }
        std::copy(dK.begin(), dK.begin() + cols * g.D, dk.data<float>() + (kv * g.Lk + j0) * g.D);
        std::copy(dV.begin(), dV.begin() + cols * g.Dv, dv.data<float>() + (kv * g.Lk + j0) * g.Dv);
      }
    }
  });
  if (nchunks > 1) {
    float* dst = dq.data<float>();
    parallel_for(dq_size, 4096, [&](int64_t e0, int64_t e1) {
      for (int64_t c = 0; c < nchunks; ++c) {
        const float* part = dq_parts.data() + c * dq_size;
        for (int64_t e = e0; e < e1; ++e) dst[e] += part[e];
      }
    });
  }
  return result();
}

}  // namespace vlv::cpu
