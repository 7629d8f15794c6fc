// Embeddings and positions.
//   embedding(weight[V,D], ids i32/i64 any shape) -> [..., D]: a row gather (memcpy per id,
//     parallel over ids). embedding_backward (the fused kernel of its rule, ops/grad):
//     scatter-add of the output grad into a zero [V,D] weight grad, parallel over column
//     ranges of D so every element is summed by one thread in id order: the result does
//     not depend on the thread count. A bf16 / f16 table stays 16-bit:
//     its rows are upcast as they are gathered (the grad is f32).
//   rope(x[B,H,L,D], positions i32/i64 [L] or [B,L]): rotate-half (Llama / Qwen2):
//     out[i] = x[i] cos - x[i+D/2] sin, out[i+D/2] = x[i+D/2] cos + x[i] sin for i < D/2,
//     angle = pos * theta^(-2i/D); cos/sin are computed in double into a table and cast to
//     f32. rope_backward (the fused kernel of its rule): the same rotation by -angle.
//   timestep_embedding(t[N]) -> [N, dim]: diffusers get_timestep_embedding, in double then
//     cast: freq_j = exp(-ln(max_period) * j / (half - downscale_freq_shift)), a = scale * t *
//     freq_j, [sin(a), cos(a)] ([cos, sin] with flip_sin_to_cos), a zero column when dim is odd.
// Measured (2-core dev box, shared, medians): embedding of 4096 ids from [32000,1024] 16 ms
// (torch 9-27 ms over the same minutes: allocation bound); rope [1,16,1024,128] 2 ms.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "ops/check/embedding.h"
#include "ops/check/embedding_timestep.h"
#include "ops/cpu/gemm_w16.h"
#include "ops/cpu/inputs.h"
#include "ops/kernel.h"

namespace vlv::cpu {

namespace {

// Integer ids/positions of either index dtype as int64.
std::vector<int64_t> index_values(const Tensor& t) {
  std::vector<int64_t> v(size_t(t.numel()));
  if (t.dtype() == DType::I64) {
    std::memcpy(v.data(), t.raw(), t.nbytes());
  } else {
    const int32_t* p = t.data<int32_t>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = p[i];
  }
  return v;
}

}  // namespace

// ---- embedding ------------------------------------------------------------------------

Tensors embedding(const Tensors& in, const Attrs&, Saved*) {
  const Tensor& w = input(in, 0);
  const Tensor& ids = input(in, 1);
  check_defined(w, "embedding", "weight");
  VLV_CHECK(w.dtype() == DType::F32 || is_w16(w.dtype()), ErrorCode::DType,
            "embedding: 'weight' must be f32, bf16 or f16, got ", w.desc());
  check_dim(w, 2, "embedding", "weight");
  check_ids(ids, "embedding", "ids");
  const int64_t V = w.size(0), D = w.size(1);
  std::vector<int64_t> idx = index_values(ids);
  for (size_t i = 0; i < idx.size(); ++i)
    VLV_CHECK(idx[i] >= 0 && idx[i] < V, ErrorCode::Arg, "embedding: id ", idx[i], " (at flat index ", i, " of ids ",
              ids.desc(), ") is out of range for weight ", w.desc());
  Shape shape = ids.shape();
  shape.push_back(D);
  Tensor out = Tensor::empty(shape, DType::F32);
  float* op = out.data<float>();
  const bool w16 = is_w16(w.dtype());
  parallel_for(int64_t(idx.size()), std::max<int64_t>(1, 16384 / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int64_t row = idx[size_t(i)] * D;
      if (w16) upcast_w16(w.dtype(), static_cast<const uint16_t*>(w.raw()) + row, op + i * D, D);
      else std::memcpy(op + i * D, w.data<float>() + row, size_t(D) * sizeof(float));
    }
  });
  return {out};
}

// weight (for its shape), ids, gy -> the weight's gradient, f32.
Tensors embedding_backward(const Tensors& in, const Attrs&, Saved*) {
  const Tensor& w = input(in, 0);
  const Tensor& go = input(in, 2);
  const int64_t D = w.size(1);
  std::vector<int64_t> idx = index_values(input(in, 1));
  Tensor gw = Tensor::zeros(w.shape(), DType::F32);
  const Tensor go32 = go.contiguous_f32();
  const float* gp = go32.data<float>();
  float* wp = gw.data<float>();
  // Columns [c0, c1) belong to one thread, which adds the ids in order.
  constexpr int64_t kCols = 64;
  int64_t chunks = (D + kCols - 1) / kCols;
  parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
    int64_t c0 = b * kCols, c1 = std::min(D, e * kCols);
    for (size_t i = 0; i < idx.size(); ++i) {
      const float* src = gp + int64_t(i) * D;
      float* dst = wp + idx[i] * D;
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  });
  return {gw};
}

// ---- rope -----------------------------------------------------------------------------

namespace {

// Rotates x[B,H,L,D] by sign * angle; shared by the forward (+1) and the backward (-1).
Tensor rope_rotate(const Tensor& x, const Tensor& positions, double theta, float sign, bool bf16_tables) {
  const int64_t B = x.size(0), H = x.size(1), L = x.size(2), D = x.size(3), half = D / 2;
  const bool per_batch = positions.dim() == 2;
  std::vector<int64_t> pos = index_values(positions);
  // cos/sin table [P, half] over the distinct position rows (P = L or B*L).
  const int64_t P = int64_t(pos.size());
  std::vector<double> inv_freq(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) inv_freq[size_t(i)] = std::pow(theta, -2.0 * double(i) / double(D));
  std::vector<float> cs(static_cast<size_t>(P * half)), sn(static_cast<size_t>(P * half));
  for (int64_t p = 0; p < P; ++p)
    for (int64_t i = 0; i < half; ++i) {
      double a = double(pos[size_t(p)]) * inv_freq[size_t(i)];
      float c = float(std::cos(a)), s = float(std::sin(a));
      if (bf16_tables) c = bf16_to_f32(f32_to_bf16(c)), s = bf16_to_f32(f32_to_bf16(s));
      cs[size_t(p * half + i)] = c;
      sn[size_t(p * half + i)] = sign * s;
    }
  Tensor out = Tensor::empty(x.shape(), DType::F32);
  const float* xp = x.data<float>();
  float* op = out.data<float>();
  parallel_for(B * H * L, std::max<int64_t>(1, 8192 / std::max<int64_t>(D, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t l = r % L, b = r / (H * L);
      int64_t p = per_batch ? b * L + l : l;
      const float* c = cs.data() + p * half;
      const float* s = sn.data() + p * half;
      const float* xr = xp + r * D;
      float* o = op + r * D;
      for (int64_t i = 0; i < half; ++i) {
        float x1 = xr[i], x2 = xr[i + half];
        o[i] = x1 * c[i] - x2 * s[i];
        o[i + half] = x2 * c[i] + x1 * s[i];
      }
    }
  });
  return out;
}

}  // namespace

Tensors rope(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  const Tensor& pos = input(in, 1);
  check_float(x, "rope", "x");
  const double theta = rope_args(x, pos, attrs);
  return {rope_rotate(x, pos, theta, 1.0f, attrs.i("bf16_tables", 0) != 0)};
}

// gy, positions -> gy rotated by -angle.
Tensors rope_backward(const Tensors& in, const Attrs& attrs, Saved*) {
  return {rope_rotate(input(in, 0).contiguous_f32(), input(in, 1), attrs.f("theta", 10000), -1.0f,
                      attrs.i("bf16_tables", 0) != 0)};
}

// ---- timestep_embedding -----------------------------------------------------------------

Tensors timestep_embedding(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& t = input(in, 0);
  const TimestepArgs a = timestep_args(t, attrs);
  const int64_t dim = a.dim, half = a.half;
  const bool flip = a.flip;
  const double shift = a.shift, scale = a.scale, max_period = a.max_period;
  const int64_t N = t.size(0);
  std::vector<double> ts(static_cast<size_t>(N));
  if (t.dtype() == DType::F32) {
    for (int64_t n = 0; n < N; ++n) ts[size_t(n)] = t.data<float>()[n];
  } else {
    std::vector<int64_t> iv = index_values(t);
    for (int64_t n = 0; n < N; ++n) ts[size_t(n)] = double(iv[size_t(n)]);
  }
  std::vector<double> freq(static_cast<size_t>(half));
  for (int64_t j = 0; j < half; ++j)
    freq[size_t(j)] = std::exp(-std::log(max_period) * double(j) / (double(half) - shift));
  Tensor out = Tensor::zeros({N, dim}, DType::F32);
  float* o = out.data<float>();
  const int64_t sin_at = flip ? half : 0, cos_at = flip ? 0 : half;
  for (int64_t n = 0; n < N; ++n) {
    float* row = o + n * dim;
    for (int64_t j = 0; j < half; ++j) {
      double a = scale * (ts[size_t(n)] * freq[size_t(j)]);
      row[sin_at + j] = float(std::sin(a));
      row[cos_at + j] = float(std::cos(a));
    }
  }
  return {out};
}

}  // namespace vlv::cpu
