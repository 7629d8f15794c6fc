#include "ops/check/embedding_timestep.h"

#include "core/error.h"

namespace vlv {

TimestepArgs timestep_args(const Tensor& t, const Attrs& attrs) {
  constexpr const char* kOp = "timestep_embedding";
  check_defined(t, kOp, "t");
  VLV_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::I32 || t.dtype() == DType::I64, ErrorCode::DType, kOp,
            ": 't' must be f32, i32 or i64, got ", t.desc());
  check_dim(t, 1, kOp, "t");
  TimestepArgs a{};
  a.n = t.size(0);
  a.dim = attrs.i("dim");
  VLV_CHECK(a.dim >= 1, ErrorCode::Arg, kOp, ": attribute 'dim' must be >= 1, got ", a.dim);
  a.flip = attrs.b("flip_sin_to_cos", false);
  a.shift = attrs.f("downscale_freq_shift", 1), a.scale = attrs.f("scale", 1);
  a.max_period = attrs.f("max_period", 10000);
  a.half = a.dim / 2;
  VLV_CHECK(a.half == 0 || double(a.half) != a.shift, ErrorCode::Arg, kOp, ": dim/2 - downscale_freq_shift is 0 (dim ",
            a.dim, ", downscale_freq_shift ", a.shift, ")");
  VLV_CHECK(a.max_period > 0, ErrorCode::Arg, kOp, ": attribute 'max_period' must be > 0, got ", a.max_period);
  return a;
}

}  // namespace vlv
