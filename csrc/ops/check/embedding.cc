#include "ops/check/embedding.h"

#include "core/error.h"

namespace vlv {

void check_ids(const Tensor& t, const char* op, const char* arg) {
  check_defined(t, op, arg);
  VLV_CHECK(t.dtype() == DType::I32 || t.dtype() == DType::I64, ErrorCode::DType, op, ": '", arg,
            "' must be i32 or i64, got ", t.desc());
}

double rope_args(const Tensor& x, const Tensor& pos, const Attrs& attrs) {
  check_dim(x, 4, "rope", "x");
  check_ids(pos, "rope", "positions");
  VLV_CHECK(x.size(3) % 2 == 0, ErrorCode::Shape, "rope: the head dim of x ", x.desc(), " must be even");
  const bool ok = (pos.dim() == 1 && pos.size(0) == x.size(2)) ||
                  (pos.dim() == 2 && pos.size(0) == x.size(0) && pos.size(1) == x.size(2));
  VLV_CHECK(ok, ErrorCode::Shape, "rope: positions ", pos.desc(), " must be [L] or [B,L] for x ", x.desc(),
            " ([B,H,L,D])");
  const double theta = attrs.f("theta", 10000);
  VLV_CHECK(theta > 0, ErrorCode::Arg, "rope: attribute 'theta' must be > 0, got ", theta);
  return theta;
}

RandomArgs random_args(const Attrs& attrs) {  // no tensor inputs: the dispatcher checks
  Shape shape = attrs.ints("shape");
  for (int64_t d : shape)
    VLV_CHECK(d >= 0, ErrorCode::Shape, attrs.op_name, ": attribute 'shape' ", shape_str(shape),
              " has a negative dimension");
  return {shape, uint64_t(attrs.i("seed")), uint64_t(attrs.i("offset", 0))};
}

}  // namespace vlv
