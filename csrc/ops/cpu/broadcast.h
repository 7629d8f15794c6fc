// NumPy broadcasting for CPU kernels: the result shape, a coalesced index plan for reading
// two inputs at the output's indices, broadcasting a tensor out (expand_f32), summing over
// dims (sum_dims_f32).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "ops/check/elementwise.h"
#include "ops/cpu/inputs.h"

namespace vlv::cpu {

// Reading `a` and `b` at every index of `out`, with adjacent dims merged where both inputs
// step alike and size-1 dims dropped. dims[k] is a merged extent; sa[k] / sb[k] the element
// strides of a / b along it (0 where the input is broadcast). The last merged dim is the
// inner row of a kernel: its strides are 0 or 1. dims is never empty (a scalar gives {1}).
struct BinaryPlan {
  Shape out;
  std::vector<int64_t> dims, sa, sb;
  int64_t rows() const;  // product of every merged dim but the last
  int64_t inner() const { return dims.back(); }
  // Element offsets of a and b at the start of row r.
  void row_offsets(int64_t r, int64_t* oa, int64_t* ob) const;
};
BinaryPlan plan_binary(const Shape& a, const Shape& b, const char* op);

// x (f32) broadcast to `shape` and multiplied by alpha. x's shape must broadcast to it.
Tensor expand_f32(const Tensor& x, const Shape& shape, float alpha = 1.0f);

// Sums f32 x over the dims where reduce[d] is true, times `scale`, into a tensor of x's shape
// with those dims set to 1 (keepdim). Accumulates in double in a fixed order (blocks of 4096
// along a contiguous run, blocks summed in order), so the result never depends on the
// thread count or the SIMD level.
Tensor sum_dims_f32(const Tensor& x, const std::vector<bool>& reduce, double scale = 1.0);

}  // namespace vlv::cpu
