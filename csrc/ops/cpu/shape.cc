// Shape ops. Every dtype goes through them (ids, masks, 16-bit floats): data moves as bytes
// of the element size, never converted.
//   reshape: a view.
//   slice(dim, start, end): Python-style bounds (negative counts from the end, clamped to
//     [0, size], end < start gives an empty slice). A view when dim is 0, else a copy of
//     `outer` contiguous runs.
//   permute(dims): dims of size 1 are dropped and dims that stay adjacent are merged first;
//     then either whole rows move (the last dim stays last: memcpy per row) or a blocked
//     2-D transpose runs between the input's contiguous dim and the output's contiguous dim
//     (32x32 tiles; covers the common transpose of the last two dims), batched over the
//     remaining dims.
//   concat(dim) / split(dim, sizes): contiguous runs per outer index, by memcpy; split
//     outputs are views when dim is 0.
// The backward rules are composed from these ops (ops/grad/shape.cc).
// Measured (2-core dev box, shared, medians; torch 1.13 CPU .contiguous() / cat in the same
// minutes): permute [16,512,512] (0,2,1) 14 ms vs 31 ms; [4,256,16,64] (0,2,1,3) 2.5 ms vs
// 8 ms, (0,2,3,1) 3.8 ms vs 9.7 ms; concat 2x[16,512,512] on dim 2 39 ms vs 40 ms.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/thread_pool.h"
#include "ops/check/shape.h"
#include "ops/cpu/inputs.h"
#include "ops/kernel.h"

namespace vlv::cpu {

namespace {

// x viewed as [outer, x.size(d), inner]; inner counted in bytes.
struct Along {
  int64_t outer = 1;
  size_t inner_bytes = 0;
};
Along along(const Shape& shape, int64_t d, DType dt) {
  Along a;
  size_t inner = 1;
  for (int64_t i = 0; i < d; ++i) a.outer *= shape[size_t(i)];
  for (size_t i = size_t(d) + 1; i < shape.size(); ++i) inner *= size_t(shape[i]);
  a.inner_bytes = inner * dtype_size(dt);
  return a;
}

// For each outer index o: dst[o, dst_at : dst_at+len] = src[o, src_at : src_at+len] along d.
void copy_along(const Tensor& src, int64_t src_at, const Tensor& dst, int64_t dst_at, int64_t len, int64_t d) {
  Along a = along(src.shape(), d, src.dtype());
  const size_t run = size_t(len) * a.inner_bytes;
  if (run == 0) return;
  const size_t src_row = size_t(src.shape()[size_t(d)]) * a.inner_bytes;
  const size_t dst_row = size_t(dst.shape()[size_t(d)]) * a.inner_bytes;
  const char* s = static_cast<const char*>(src.raw()) + size_t(src_at) * a.inner_bytes;
  char* t = static_cast<char*>(dst.raw()) + size_t(dst_at) * a.inner_bytes;
  parallel_for(a.outer, std::max<int64_t>(1, int64_t(65536 / run)), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) std::memcpy(t + size_t(o) * dst_row, s + size_t(o) * src_row, run);
  });
}

// [start, start+len) of x along d: a view when d is 0, else a copy.
Tensor take_range(const Tensor& x, int64_t d, int64_t start, int64_t len) {
  if (d == 0) return x.detach().slice0(start, start + len);
  Shape shape = x.shape();
  shape[size_t(d)] = len;
  Tensor out = Tensor::empty(shape, x.dtype());
  copy_along(x, start, out, 0, len, d);
  return out;
}

// ---- permute ----

// Walks a multi-index over `sizes` (last fastest), tracking two linear offsets.
struct Odometer {
  std::vector<int64_t> sizes, stride_a, stride_b, idx;
  int64_t off_a = 0, off_b = 0;
  void seek(int64_t linear) {
    idx.assign(sizes.size(), 0);
    off_a = off_b = 0;
    for (size_t k = sizes.size(); k-- > 0;) {
      idx[k] = linear % sizes[k];
      linear /= sizes[k];
      off_a += idx[k] * stride_a[k];
      off_b += idx[k] * stride_b[k];
    }
  }
  void next() {
    for (size_t k = sizes.size(); k-- > 0;) {
      off_a += stride_a[k];
      off_b += stride_b[k];
      if (++idx[k] < sizes[k]) return;
      off_a -= idx[k] * stride_a[k];
      off_b -= idx[k] * stride_b[k];
      idx[k] = 0;
    }
  }
};

// The permutation with size-1 dims dropped and runs of input dims that stay adjacent merged.
struct Coalesced {
  std::vector<int64_t> in_sizes;  // input order
  std::vector<int64_t> perm;      // output dim k reads input dim perm[k]
};
Coalesced coalesce(const Shape& shape, const std::vector<int64_t>& perm) {
  std::vector<int64_t> kept;  // input dims of size > 1, in output order
  for (int64_t p : perm)
    if (shape[size_t(p)] != 1) kept.push_back(p);
  // Groups of consecutive input dims, in output order.
  std::vector<std::pair<int64_t, int64_t>> groups;  // (first input dim, size)
  for (size_t k = 0; k < kept.size(); ++k) {
    bool extends = k > 0 && kept[k] == kept[k - 1] + 1;
    if (extends) groups.back().second *= shape[size_t(kept[k])];
    else groups.push_back({kept[k], shape[size_t(kept[k])]});
  }
  std::vector<size_t> order(groups.size());  // groups sorted by input position
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return groups[a].first < groups[b].first; });
  Coalesced c;
  c.perm.assign(groups.size(), 0);
  for (size_t r = 0; r < order.size(); ++r) {
    c.in_sizes.push_back(groups[order[r]].second);
    c.perm[order[r]] = int64_t(r);
  }
  return c;
}

template <class T>
void permute_typed(const T* src, T* dst, const Coalesced& c) {
  const int64_t r = int64_t(c.perm.size());
  std::vector<int64_t> in_stride(size_t(r), 1);
  for (int64_t k = r - 2; k >= 0; --k) in_stride[size_t(k)] = in_stride[size_t(k + 1)] * c.in_sizes[size_t(k + 1)];
  std::vector<int64_t> out_size(static_cast<size_t>(r)), out_stride(static_cast<size_t>(r), 1);
  std::vector<int64_t> read_stride(static_cast<size_t>(r));
  for (int64_t k = 0; k < r; ++k) {
    out_size[size_t(k)] = c.in_sizes[size_t(c.perm[size_t(k)])];
    read_stride[size_t(k)] = in_stride[size_t(c.perm[size_t(k)])];
  }
  for (int64_t k = r - 2; k >= 0; --k) out_stride[size_t(k)] = out_stride[size_t(k + 1)] * out_size[size_t(k + 1)];

  if (c.perm[size_t(r - 1)] == r - 1) {  // rows of the last dim move whole
    const int64_t row = out_size[size_t(r - 1)];
    Odometer base{{out_size.begin(), out_size.end() - 1},
                  {read_stride.begin(), read_stride.end() - 1},
                  {out_stride.begin(), out_stride.end() - 1},
                  {}};
    int64_t rows = 1;
    for (int64_t k = 0; k < r - 1; ++k) rows *= out_size[size_t(k)];
    parallel_for(rows, std::max<int64_t>(1, 16384 / row), [&](int64_t b, int64_t e) {
      Odometer od = base;
      od.seek(b);
      for (int64_t i = b; i < e; ++i, od.next()) std::memcpy(dst + od.off_b, src + od.off_a, size_t(row) * sizeof(T));
    });
    return;
  }
  // Tiled transpose between output dim a (input-contiguous) and output dim r-1
  // (output-contiguous); every other output dim is a batch dim.
  const int64_t a = std::find(c.perm.begin(), c.perm.end(), r - 1) - c.perm.begin();
  const int64_t na = out_size[size_t(a)], nb = out_size[size_t(r - 1)];
  const int64_t sa = out_stride[size_t(a)], sb = read_stride[size_t(r - 1)];
  Odometer base;
  for (int64_t k = 0; k < r - 1; ++k) {
    if (k == a) continue;
    base.sizes.push_back(out_size[size_t(k)]);
    base.stride_a.push_back(read_stride[size_t(k)]);
    base.stride_b.push_back(out_stride[size_t(k)]);
  }
  int64_t batches = 1;
  for (int64_t s : base.sizes) batches *= s;
  constexpr int64_t kTile = 32;
  const int64_t tiles_a = (na + kTile - 1) / kTile;
  parallel_for(batches * tiles_a, std::max<int64_t>(1, 4096 / (kTile * nb)), [&](int64_t u0, int64_t u1) {
    Odometer od = base;
    od.seek(u0 / tiles_a);
    int64_t batch = u0 / tiles_a;
    for (int64_t u = u0; u < u1; ++u) {
      if (u / tiles_a != batch) {
        od.next();
        batch = u / tiles_a;
      }
      const int64_t i0 = (u % tiles_a) * kTile, i1 = std::min(na, i0 + kTile);
      const T* s = src + od.off_a;
      T* t = dst + od.off_b;
      for (int64_t j0 = 0; j0 < nb; j0 += kTile) {
        const int64_t j1 = std::min(nb, j0 + kTile);
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = j0; j < j1; ++j) t[i * sa + j] = s[i + j * sb];
      }
    }
  });
}

Tensor permute_impl(const Tensor& x, const std::vector<int64_t>& perm) {
  Shape shape(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) shape[k] = x.shape()[size_t(perm[k])];
  Tensor out = Tensor::empty(shape, x.dtype());
  Coalesced c = coalesce(x.shape(), perm);
  if (c.perm.size() <= 1 || out.numel() == 0) {  // nothing moves
    std::memcpy(out.raw(), x.raw(), x.nbytes());
    return out;
  }
  switch (dtype_size(x.dtype())) {
    case 1: permute_typed(static_cast<const uint8_t*>(x.raw()), static_cast<uint8_t*>(out.raw()), c); break;
    case 2: permute_typed(static_cast<const uint16_t*>(x.raw()), static_cast<uint16_t*>(out.raw()), c); break;
    case 4: permute_typed(static_cast<const uint32_t*>(x.raw()), static_cast<uint32_t*>(out.raw()), c); break;
    case 8: permute_typed(static_cast<const uint64_t*>(x.raw()), static_cast<uint64_t*>(out.raw()), c); break;
    default: fail(ErrorCode::Internal, "permute: element size ", dtype_size(x.dtype()));
  }
  return out;
}

}  // namespace

Tensors reshape(const Tensors& in, const Attrs& attrs, Saved*) { return {reshape_view(input(in, 0), attrs)}; }

Tensors slice(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  check_defined(x, "slice", "x");
  SliceRange r = slice_range(x, attrs);
  return {take_range(x, r.dim, r.start, r.len)};
}

Tensors permute(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  check_defined(x, "permute", "x");
  return {permute_impl(x, permute_dims(x, attrs))};
}

Tensors concat(const Tensors& in, const Attrs& attrs, Saved*) {
  int64_t d = 0;
  const Shape shape = concat_shape(in, attrs, &d);
  Tensor out = Tensor::empty(shape, in[0].dtype());
  int64_t at = 0;
  for (const Tensor& t : in) {
    copy_along(t, 0, out, at, t.size(d), d);
    at += t.size(d);
  }
  return {out};
}

Tensors split(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  int64_t d = 0;
  const std::vector<int64_t> sizes = split_sizes(x, attrs, &d);
  Tensors outs;
  int64_t at = 0;
  for (int64_t s : sizes) {
    outs.push_back(take_range(x, d, at, s));
    at += s;
  }
  return outs;
}

}  // namespace vlv::cpu
