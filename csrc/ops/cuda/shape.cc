// CUDA kernel table, shape ops (kernel: copy_strided in kernels/shape.cu): reshape is the
// CPU's view rule (device-agnostic), slice (a view on dim 0), permute, concat, split. Any
// dtype moves as bytes. The backward rules are composed from them (ops/grad/shape.cc).
#include <algorithm>

#include "ops/check/shape.h"
#include "ops/cuda/common.h"
#include "ops/cuda/table.h"

namespace vlv::cudaops {

namespace {
// dst[..., dst_start + i, ...] = src[..., src_start + i, ...] for i < len along `dim`.
void copy_range(const Tensor& src, int64_t dim, int64_t src_start, int64_t len, const Tensor& dst, int64_t dst_start,
                const char* op) {
  Shape shape = src.shape();
  shape[size_t(dim)] = len;
  if (shape_numel(shape) == 0) return;
  std::vector<int64_t> ss = strides_of(src.shape()), ds = strides_of(dst.shape());
  size_t es = dtype_size(src.dtype());
  VlvCudaView v = view(shape, ss, op);
  const char* s = static_cast<const char*>(src.raw()) + size_t(src_start * ss[size_t(dim)]) * es;
  char* d = static_cast<char*>(dst.raw()) + size_t(dst_start * ds[size_t(dim)]) * es;
  ck(api().copy_strided(int(es), &v, s, ds.data(), d), op);
}

Tensor permute_impl(const Tensor& x, const std::vector<int64_t>& dims) {
  std::vector<int64_t> xs = strides_of(x.shape()), src;
  Shape out;
  for (int64_t d : dims) {
    out.push_back(x.shape()[size_t(d)]);
    src.push_back(xs[size_t(d)]);
  }
  Tensor y = empty(out, x.dtype());
  if (y.numel() == 0) return y;
  VlvCudaView v = view(out, src, "permute");
  std::vector<int64_t> dst = strides_of(out);
  ck(api().copy_strided(int(dtype_size(x.dtype())), &v, x.raw(), dst.data(), y.raw()), "permute");
  return y;
}

}  // namespace

Tensors reshape(const Tensors& in, const Attrs& attrs, Saved*) { return {reshape_view(input(in, 0), attrs)}; }

Tensors slice(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  check_defined(x, "slice", "x");
  SliceRange r = slice_range(x, attrs);
  if (r.dim == 0) return {x.detach().slice0(r.start, r.start + r.len)};
  Shape out = x.shape();
  out[size_t(r.dim)] = r.len;
  Tensor y = empty(out, x.dtype());
  copy_range(x, r.dim, r.start, r.len, y, 0, "slice");
  return {y};
}

Tensors permute(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  check_defined(x, "permute", "x");
  return {permute_impl(x, permute_dims(x, attrs))};
}

Tensors concat(const Tensors& in, const Attrs& attrs, Saved*) {
  int64_t d = 0;
  const Shape out = concat_shape(in, attrs, &d);
  Tensor y = empty(out, in[0].dtype());
  int64_t at = 0;
  for (const Tensor& t : in) {
    copy_range(t, d, 0, t.size(d), y, at, "concat");
    at += t.size(d);
  }
  return {y};
}

Tensors split(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  int64_t d = 0;
  const std::vector<int64_t> sizes = split_sizes(x, attrs, &d);
  Tensors out;
  int64_t at = 0;
  for (int64_t s : sizes) {
    if (d == 0) {
      out.push_back(x.detach().slice0(at, at + s));
    } else {
      Shape sh = x.shape();
      sh[size_t(d)] = s;
      Tensor y = empty(sh, x.dtype());
      copy_range(x, d, at, s, y, 0, "split");
      out.push_back(y);
    }
    at += s;
  }
  return out;
}

}  // namespace vlv::cudaops
