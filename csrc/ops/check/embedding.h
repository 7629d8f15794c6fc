// The device-independent argument checks of the index and position ops (ops.h: embedding,
// rope, rand/randn), read once for every backend; the dtype checks of the float data stay
// with each backend (f32 on CPU kernels, f32/bf16/f16 on CUDA).
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "ops/attrs.h"

namespace vlv {

// E_DTYPE unless t is i32 or i64.
void check_ids(const Tensor& t, const char* op, const char* arg);

// rope's x [B,H,L,D] (D even) and positions [L] or [B,L] (i32/i64); returns the attribute
// theta (> 0).
double rope_args(const Tensor& x, const Tensor& positions, const Attrs& attrs);

// rand / randn: the output shape (no negative dim), seed and offset of the Philox stream.
struct RandomArgs {
  Shape shape;
  uint64_t seed, offset;
};
RandomArgs random_args(const Attrs& attrs);

}  // namespace vlv
