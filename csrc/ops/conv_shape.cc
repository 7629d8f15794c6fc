#include "ops/conv_shape.h"

#include <utility>

namespace vlv {

namespace {
std::pair<int64_t, int64_t> hw_attr(const Attrs& a, const char* name, int64_t fallback, int64_t min) {
  std::vector<int64_t> v = a.ints(name, {fallback});
  VLV_CHECK(v.size() == 1 || v.size() == 2, ErrorCode::Arg, "conv2d: attribute '", name,
            "' must be an int or [h, w], got ", v.size(), " values");
  std::pair<int64_t, int64_t> hw{v[0], v.size() == 2 ? v[1] : v[0]};
  VLV_CHECK(hw.first >= min && hw.second >= min, ErrorCode::Arg, "conv2d: attribute '", name, "' must be >= ", min,
            ", got [", hw.first, ",", hw.second, "]");
  return hw;
}
}  // namespace

ConvShape conv_shape(const Tensor& x, const Tensor& w, const Tensor& b, const Attrs& attrs) {
  check_dim(x, 4, "conv2d", "x");
  check_dim(w, 4, "conv2d", "weight");
  ConvShape c{};
  c.n = x.size(0), c.cin = x.size(1), c.h = x.size(2), c.w = x.size(3);
  c.cout = w.size(0), c.kh = w.size(2), c.kw = w.size(3);
  std::tie(c.sh, c.sw) = hw_attr(attrs, "stride", 1, 1);
  std::tie(c.ph, c.pw) = hw_attr(attrs, "padding", 0, 0);
  c.groups = attrs.i("groups", 1);
  VLV_CHECK(c.groups >= 1, ErrorCode::Arg, "conv2d: attribute 'groups' must be >= 1, got ", c.groups);
  VLV_CHECK(c.cin % c.groups == 0 && c.cout % c.groups == 0, ErrorCode::Shape, "conv2d: groups=", c.groups,
            " must divide the input channels (x ", x.desc(), ") and the output channels (weight ", w.desc(), ")");
  VLV_CHECK(w.size(1) == c.cin / c.groups, ErrorCode::Shape, "conv2d: weight ", w.desc(), " must be [Cout, Cin/groups=",
            c.cin / c.groups, ", kh, kw] for x ", x.desc(), " and groups=", c.groups);
  VLV_CHECK(c.kh >= 1 && c.kw >= 1 && c.cout >= 1, ErrorCode::Shape, "conv2d: empty weight ", w.desc());
  if (b.defined())
    VLV_CHECK(b.dim() == 1 && b.size(0) == c.cout, ErrorCode::Shape, "conv2d: bias ", b.desc(), " must be [", c.cout,
              "] for weight ", w.desc());
  const int64_t eh = c.h + 2 * c.ph - c.kh, ew = c.w + 2 * c.pw - c.kw;
  VLV_CHECK(eh >= 0 && ew >= 0, ErrorCode::Shape, "conv2d: kernel ", c.kh, "x", c.kw, " is larger than the padded input ",
            c.h + 2 * c.ph, "x", c.w + 2 * c.pw, " (x ", x.desc(), ")");
  c.ho = eh / c.sh + 1;
  c.wo = ew / c.sw + 1;
  return c;
}

}  // namespace vlv
