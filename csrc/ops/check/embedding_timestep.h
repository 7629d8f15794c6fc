// timestep_embedding's attributes (diffusers get_timestep_embedding), read and checked once for
// every backend.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "ops/attrs.h"

namespace vlv {

struct TimestepArgs {
  int64_t n, dim, half;  // rows (timesteps), output width, dim / 2
  bool flip;             // flip_sin_to_cos: [cos, sin] instead of [sin, cos]
  double shift, scale, max_period;
};

// t: [N] f32, i32 or i64. E_DTYPE / E_SHAPE / E_ARG naming the bad value.
TimestepArgs timestep_args(const Tensor& t, const Attrs& attrs);

}  // namespace vlv
