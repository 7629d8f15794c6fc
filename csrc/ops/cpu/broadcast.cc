#include "ops/cpu/broadcast.h"

#include <algorithm>
#include <array>
#include <utility>

#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace vlv::cpu {

namespace {
// Element strides of `s` read at the indices of `out` (rank >= s's): 0 along broadcast dims.
std::vector<int64_t> read_strides(const Shape& s, const Shape& out) {
  size_t r = out.size(), lead = r - s.size();
  std::vector<int64_t> st(r, 0);
  int64_t step = 1;
  for (size_t i = r; i-- > lead;) {
    int64_t n = s[i - lead];
    st[i] = n == 1 ? 0 : step;
    step *= n;
  }
  return st;
}
}  // namespace

BinaryPlan plan_binary(const Shape& a, const Shape& b, const char* op) {
  BinaryPlan p;
  p.out = broadcast_shape(a, b, op);
  std::vector<int64_t> ta = read_strides(a, p.out), tb = read_strides(b, p.out);
  for (size_t d = 0; d < p.out.size(); ++d) {
    int64_t n = p.out[d];
    if (n == 1) continue;
    if (!p.dims.empty() && p.sa.back() == ta[d] * n && p.sb.back() == tb[d] * n) {
      p.dims.back() *= n;
      p.sa.back() = ta[d];
      p.sb.back() = tb[d];
    } else {
      p.dims.push_back(n);
      p.sa.push_back(ta[d]);
      p.sb.push_back(tb[d]);
    }
  }
  if (p.dims.empty()) {
    p.dims = {1};
    p.sa = {0};
    p.sb = {0};
  }
  return p;
}

int64_t BinaryPlan::rows() const {
  int64_t r = 1;
  for (size_t k = 0; k + 1 < dims.size(); ++k) r *= dims[k];
  return r;
}

void BinaryPlan::row_offsets(int64_t r, int64_t* oa, int64_t* ob) const {
  int64_t a = 0, b = 0;
  for (size_t k = dims.size() - 1; k-- > 0;) {
    int64_t i = r % dims[k];
    r /= dims[k];
    a += i * sa[k];
    b += i * sb[k];
  }
  *oa = a;
  *ob = b;
}

Tensor expand_f32(const Tensor& x, const Shape& shape, float alpha) {
  check_float(x, "expand", "x");
  BinaryPlan p = plan_binary(x.shape(), shape, "expand");
  VLV_CHECK(p.out == shape, ErrorCode::Internal, "expand: ", x.desc(), " does not broadcast to ", shape_str(shape));
  Tensor out = Tensor::empty(shape, DType::F32);
  const float* src = x.data<float>();
  float* dst = out.data<float>();
  const int64_t n = p.inner(), step = p.sa.back();
  parallel_for(p.rows(), std::max<int64_t>(1, 16384 / n), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t oa, ob;
      p.row_offsets(r, &oa, &ob);
      const float* s = src + oa;
      float* d = dst + r * n;
      for (int64_t i = 0; i < n; ++i) d[i] = alpha * s[i * step];
    }
  });
  return out;
}

namespace {

constexpr int64_t kBlock = 4096;  // a contiguous run is summed in blocks of this many

// Sixteen double accumulators in a fixed order, combined as a tree: every SIMD level gives
// the same bits (the compiler vectorises the lanes, it may not reorder them).
__attribute__((always_inline)) inline double block_sum_impl(const float* p, int64_t n) {
  double acc[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; ++k) acc[k] += double(p[i + k]);
  for (int k = 0; i < n; ++i, ++k) acc[k] += double(p[i]);
  for (int w = 8; w >= 1; w /= 2)
    for (int k = 0; k < w; ++k) acc[k] += acc[k + w];
  return acc[0];
}
double block_sum_scalar(const float* p, int64_t n) { return block_sum_impl(p, n); }
VLV_TARGET_AVX2 double block_sum_avx2(const float* p, int64_t n) { return block_sum_impl(p, n); }
VLV_TARGET_AVX512 double block_sum_avx512(const float* p, int64_t n) { return block_sum_impl(p, n); }

using BlockSum = double (*)(const float*, int64_t);
BlockSum pick_block_sum() {
  switch (simd_level()) {
    case SimdLevel::AVX512: return block_sum_avx512;
    case SimdLevel::AVX2: return block_sum_avx2;
    default: return block_sum_scalar;
  }
}

// Merged dims of a contiguous tensor, each kept or reduced, with element strides.
struct Dims {
  std::vector<int64_t> n, stride;
  int64_t count() const {
    int64_t c = 1;
    for (int64_t v : n) c *= v;
    return c;
  }
  int64_t offset(int64_t i) const {  // offset of the i-th multi-index (row-major over n)
    int64_t off = 0;
    for (size_t k = n.size(); k-- > 0;) {
      off += (i % n[k]) * stride[k];
      i /= n[k];
    }
    return off;
  }
};

// The short-run case of sum_dims_f32 (every reduced run L <= 16 elements, one block): outputs
// [o0, o1), each the sum over the runs (offsets run_off) in order of block_sum_impl's tree,
// taken over the lanes in use only: the other lanes hold +0, which adds nothing, and lanes
// start at +0 as there, so the bits are block_sum_impl's. The outputs' offsets step along
// the innermost kept dim instead of being divided out one by one.
template <int L>
void short_run_sums(const float* src, const Dims& kept, const std::vector<int64_t>& run_off, double scale, float* dst,
                    int64_t o0, int64_t o1) {
  constexpr int W = L <= 1 ? 1 : L <= 2 ? 2 : L <= 4 ? 4 : L <= 8 ? 8 : 16;
  const int64_t inner = kept.n.back(), step = kept.stride.back();
  for (int64_t o = o0; o < o1;) {
    const int64_t count = std::min(inner - o % inner, o1 - o);
    const float* row = src + kept.offset(o);
    for (int64_t i = 0; i < count; ++i) {
      double total = 0;
      for (int64_t r : run_off) {
        const float* p = row + i * step + r;
        double acc[W];
        for (int k = 0; k < W; ++k) acc[k] = k < L ? 0.0 + double(p[k]) : 0.0;
        for (int w = W / 2; w >= 1; w /= 2)
          for (int k = 0; k < w; ++k) acc[k] += acc[k + w];
        total += acc[0];
      }
      dst[o + i] = float(total * scale);
    }
    o += count;
  }
}

using ShortRunFn = void (*)(const float*, const Dims&, const std::vector<int64_t>&, double, float*, int64_t, int64_t);
template <int... Ls>
constexpr std::array<ShortRunFn, sizeof...(Ls)> short_run_table(std::integer_sequence<int, Ls...>) {
  return {&short_run_sums<Ls + 1>...};
}
constexpr auto kShortRuns = short_run_table(std::make_integer_sequence<int, 16>());  // [L - 1]

}  // namespace

Tensor sum_dims_f32(const Tensor& x, const std::vector<bool>& reduce, double scale) {
  check_float(x, "sum", "x");
  const Shape& s = x.shape();
  Shape out_shape = s;
  for (size_t d = 0; d < s.size(); ++d)
    if (reduce[d]) out_shape[d] = 1;
  Tensor out = Tensor::empty(out_shape, DType::F32);
  float* dst = out.data<float>();
  if (x.numel() == 0) {  // an empty sum is 0 (and a mean of nothing 0 * inf = NaN)
    std::fill(dst, dst + out.numel(), float(0.0 * scale));
    return out;
  }
  // Merge adjacent dims of the same kind (size-1 dims dropped), then split kept / reduced.
  std::vector<int64_t> n, stride;
  std::vector<bool> red;
  int64_t step = 1;
  for (size_t d = s.size(); d-- > 0;) {
    if (s[d] == 1) continue;
    if (!n.empty() && red.back() == bool(reduce[d])) {
      n.back() *= s[d];
    } else {
      n.push_back(s[d]);
      stride.push_back(step);
      red.push_back(reduce[d]);
    }
    step *= s[d];
  }
  std::reverse(n.begin(), n.end());
  std::reverse(stride.begin(), stride.end());
  std::reverse(red.begin(), red.end());
  const float* src = x.data<float>();
  if (n.empty() || !std::count(red.begin(), red.end(), true)) {  // nothing to sum
    for (int64_t i = 0; i < x.numel(); ++i) dst[i] = float(src[i] * scale);
    return out;
  }
  Dims kept, runs;
  for (size_t k = 0; k + 1 < n.size(); ++k) (red[k] ? runs : kept).n.push_back(n[k]);
  for (size_t k = 0; k + 1 < n.size(); ++k) (red[k] ? runs : kept).stride.push_back(stride[k]);
  const int64_t L = n.back();
  BlockSum block_sum = pick_block_sum();

  if (red.back()) {
    // Each output sums `runs` contiguous runs of L elements, each in blocks of kBlock.
    const int64_t outputs = kept.count(), nruns = runs.count(), blocks = (L + kBlock - 1) / kBlock;
    auto item = [&](int64_t o, int64_t j, int64_t k) {
      const float* p = src + kept.offset(o) + runs.offset(j) + k * kBlock;
      return block_sum(p, std::min(kBlock, L - k * kBlock));
    };
    if (outputs >= 64 && L <= 16 && nruns <= 4096) {
      // Short runs (the adjoint of a nearest upsample, sums over small trailing dims): the
      // same sums in the same order, without the per-element offset division (above).
      std::vector<int64_t> run_off(static_cast<size_t>(nruns));
      for (int64_t j = 0; j < nruns; ++j) run_off[size_t(j)] = runs.offset(j);
      const ShortRunFn sums = kShortRuns[size_t(L - 1)];
      parallel_for(outputs, std::max<int64_t>(1, 65536 / (nruns * L)),
                   [&](int64_t o0, int64_t o1) { sums(src, kept, run_off, scale, dst, o0, o1); });
    } else if (outputs >= 64) {
      parallel_for(outputs, std::max<int64_t>(1, 65536 / (nruns * L)), [&](int64_t o0, int64_t o1) {
        for (int64_t o = o0; o < o1; ++o) {
          double total = 0;
          for (int64_t j = 0; j < nruns; ++j)
            for (int64_t k = 0; k < blocks; ++k) total += item(o, j, k);
          dst[o] = float(total * scale);
        }
      });
    } else {  // few outputs: the blocks in parallel, then added in the same order
      const int64_t per = nruns * blocks;
      std::vector<double> part(size_t(outputs * per));
      parallel_for(outputs * per, std::max<int64_t>(1, 65536 / std::min(L, kBlock)), [&](int64_t b, int64_t e) {
        for (int64_t w = b; w < e; ++w) part[size_t(w)] = item(w / per, (w % per) / blocks, w % blocks);
      });
      for (int64_t o = 0; o < outputs; ++o) {
        double total = 0;
        for (int64_t w = 0; w < per; ++w) total += part[size_t(o * per + w)];
        dst[o] = float(total * scale);
      }
    }
    return out;
  }

  // The last dim is kept: each output row adds the reduced rows of L elements, column by
  // column, in chunks of columns.
  constexpr int64_t kCols = 512;
  const int64_t orows = kept.count(), chunks = (L + kCols - 1) / kCols, nruns = runs.count();
  parallel_for(orows * chunks, std::max<int64_t>(1, 65536 / (nruns * std::min(L, kCols))), [&](int64_t b, int64_t e) {
    double acc[kCols];
    for (int64_t w = b; w < e; ++w) {
      const int64_t q = w / chunks, c0 = (w % chunks) * kCols, m = std::min(kCols, L - c0);
      const float* base = src + kept.offset(q) + c0;
      std::fill(acc, acc + m, 0.0);
      for (int64_t j = 0; j < nruns; ++j) {
        const float* p = base + runs.offset(j);
        for (int64_t c = 0; c < m; ++c) acc[c] += double(p[c]);
      }
      float* o = dst + q * L + c0;
      for (int64_t c = 0; c < m; ++c) o[c] = float(acc[c] * scale);
    }
  });
  return out;
}

}  // namespace vlv::cpu
