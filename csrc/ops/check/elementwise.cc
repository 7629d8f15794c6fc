#include "ops/check/elementwise.h"

#include <algorithm>
#include <string>

namespace vlv {

Shape broadcast_shape(const Shape& a, const Shape& b, const char* op) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    VLV_CHECK(da == db || da == 1 || db == 1, ErrorCode::Shape, op, ": shapes ", shape_str(a), " and ", shape_str(b),
              " are not broadcastable (dim ", int64_t(i) - int64_t(r), ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

UnaryOp unary_op(const Attrs& attrs) {
  const std::string name = attrs.s("op");
#define VLV_UNARY_NAME(X, op, f, dfdx)                                                                                 \
  if (name == #op) return UnaryOp::op;
  VLV_UNARY_OPS(VLV_UNARY_NAME, _)
#undef VLV_UNARY_NAME
  fail(ErrorCode::Arg, "unary backward: unknown unary op '", name, "'");
}

}  // namespace vlv
