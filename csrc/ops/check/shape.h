// The shape ops' arguments, read and checked once for every backend: dims (negative counts
// from the end), permutations, slice ranges (Python-style clamping), concat and split
// layouts. Kernels move the bytes; these say which.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "ops/attrs.h"

namespace vlv {

// d in [-rank, rank) as a dim in [0, rank); E_ARG naming op otherwise.
int64_t normalize_dim(int64_t d, int64_t rank, const char* op);

// reshape's view of x (attrs.shape, one -1 inferred): the same storage on any device.
Tensor reshape_view(const Tensor& x, const Attrs& attrs);

// permute's attrs.dims, normalised, checked to be a permutation of x's dims.
std::vector<int64_t> permute_dims(const Tensor& x, const Attrs& attrs);
std::vector<int64_t> inverse_permutation(const std::vector<int64_t>& dims);

struct SliceRange {
  int64_t dim, start, len;
};
SliceRange slice_range(const Tensor& x, const Attrs& attrs);

// concat's inputs checked against each other; returns the output shape and sets *dim.
Shape concat_shape(const Tensors& in, const Attrs& attrs, int64_t* dim);

// split's sizes checked against x; returns them and sets *dim.
std::vector<int64_t> split_sizes(const Tensor& x, const Attrs& attrs, int64_t* dim);

}  // namespace vlv
