// The attention op's shapes, attributes and mask broadcast, checked once for every backend
// (semantics in ops.h). Dtypes of q/k/v are the backend's to check; the mask must be bool
// or f32 everywhere.
#pragma once
#include <array>
#include <cstdint>

#include "core/tensor.h"
#include "ops/attrs.h"

namespace vlv {

struct AttentionShape {
  int64_t b, hq, hkv, lq, lk, d, dv;
  bool causal;
  float scale;
};

// E_ARG / E_SHAPE naming attention and the argument at fault.
AttentionShape attention_shape(const Tensor& q, const Tensor& k, const Tensor& v, const Attrs& attrs);

// Element strides of `mask` broadcast to [b, hq, lq, lk] (0 on broadcast dims).
std::array<int64_t, 4> attention_mask_strides(const Tensor& mask, const AttentionShape& s);

}  // namespace vlv
