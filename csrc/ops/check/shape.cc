#include "ops/check/shape.h"

#include <algorithm>

namespace vlv {

int64_t normalize_dim(int64_t d, int64_t rank, const char* op) {
  VLV_CHECK(d >= -rank && d < rank, ErrorCode::Arg, op, ": dim ", d, " is out of range for a tensor of rank ", rank);
  return d < 0 ? d + rank : d;
}

std::vector<int64_t> permute_dims(const Tensor& x, const Attrs& attrs) {
  std::vector<int64_t> dims = attrs.ints("dims");
  const int64_t r = x.dim();
  VLV_CHECK(int64_t(dims.size()) == r, ErrorCode::Arg, "permute: dims ", shape_str(dims), " must list ", r,
            " dims for x ", x.desc());
  std::vector<bool> seen(size_t(r), false);
  for (int64_t& d : dims) {
    VLV_CHECK(d >= -r && d < r, ErrorCode::Arg, "permute: dim ", d, " in dims ", shape_str(attrs.ints("dims")),
              " is out of range for x ", x.desc());
    if (d < 0) d += r;
    VLV_CHECK(!seen[size_t(d)], ErrorCode::Arg, "permute: dims ", shape_str(attrs.ints("dims")),
              " is not a permutation (dim ", d, " repeats)");
    seen[size_t(d)] = true;
  }
  return dims;
}

std::vector<int64_t> inverse_permutation(const std::vector<int64_t>& dims) {
  std::vector<int64_t> inverse(dims.size());
  for (size_t k = 0; k < dims.size(); ++k) inverse[size_t(dims[k])] = int64_t(k);
  return inverse;
}

SliceRange slice_range(const Tensor& x, const Attrs& attrs) {
  VLV_CHECK(x.dim() >= 1, ErrorCode::Shape, "slice: x ", x.desc(), " is a scalar");
  const int64_t d = normalize_dim(attrs.i("dim", 0), x.dim(), "slice");
  const int64_t n = x.size(d);
  auto clamp = [n](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + n : v, 0, n); };
  const int64_t start = clamp(attrs.i("start")), end = clamp(attrs.i("end"));
  return {d, start, std::max<int64_t>(0, end - start)};
}

Shape concat_shape(const Tensors& in, const Attrs& attrs, int64_t* dim) {
  VLV_CHECK(!in.empty(), ErrorCode::Arg, "concat: needs at least one tensor");
  for (size_t i = 0; i < in.size(); ++i) VLV_CHECK(in[i].defined(), ErrorCode::Arg, "concat: input ", i, " is missing");
  const Tensor& first = in[0];
  VLV_CHECK(first.dim() >= 1, ErrorCode::Shape, "concat: input 0 ", first.desc(), " is a scalar");
  const int64_t d = normalize_dim(attrs.i("dim", 0), first.dim(), "concat");
  Shape shape = first.shape();
  shape[size_t(d)] = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const Tensor& t = in[i];
    VLV_CHECK(t.dtype() == first.dtype(), ErrorCode::DType, "concat: input ", i, " ", t.desc(),
              " has another dtype than input 0 ", first.desc());
    bool fits = t.dim() == first.dim();
    for (int64_t k = 0; fits && k < t.dim(); ++k) fits = k == d || t.size(k) == first.size(k);
    VLV_CHECK(fits, ErrorCode::Shape, "concat: input ", i, " ", t.desc(), " does not fit input 0 ", first.desc(),
              " along dim ", d);
    shape[size_t(d)] += t.size(d);
  }
  *dim = d;
  return shape;
}

std::vector<int64_t> split_sizes(const Tensor& x, const Attrs& attrs, int64_t* dim) {
  check_defined(x, "split", "x");
  VLV_CHECK(x.dim() >= 1, ErrorCode::Shape, "split: x ", x.desc(), " is a scalar");
  const int64_t d = normalize_dim(attrs.i("dim", 0), x.dim(), "split");
  std::vector<int64_t> sizes = attrs.ints("sizes");
  int64_t total = 0;
  for (int64_t s : sizes) {
    VLV_CHECK(s >= 0, ErrorCode::Arg, "split: sizes ", shape_str(sizes), " has a negative size");
    total += s;
  }
  VLV_CHECK(total == x.size(d), ErrorCode::Shape, "split: sizes ", shape_str(sizes), " sum to ", total, ", not to ",
            x.size(d), " (dim ", d, " of x ", x.desc(), ")");
  *dim = d;
  return sizes;
}

Tensor reshape_view(const Tensor& x, const Attrs& attrs) {
  check_defined(x, "reshape", "x");
  return x.detach().reshape(attrs.ints("shape"));
}

}  // namespace vlv
