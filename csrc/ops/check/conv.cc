#include "ops/check/conv.h"

#include <utility>

#include "core/grad_mode.h"

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
  VLV_CHECK(w.size(1) == c.cin / c.groups, ErrorCode::Shape, "conv2d: weight ", w.desc(),
            " must be [Cout, Cin/groups=", c.cin / c.groups, ", kh, kw] for x ", x.desc(), " and groups=", c.groups);
  VLV_CHECK(c.kh >= 1 && c.kw >= 1 && c.cout >= 1, ErrorCode::Shape, "conv2d: empty weight ", w.desc());
  if (b.defined())
    VLV_CHECK(b.dim() == 1 && b.size(0) == c.cout, ErrorCode::Shape, "conv2d: bias ", b.desc(), " must be [", c.cout,
              "] for weight ", w.desc());
  const int64_t eh = c.h + 2 * c.ph - c.kh, ew = c.w + 2 * c.pw - c.kw;
  VLV_CHECK(eh >= 0 && ew >= 0, ErrorCode::Shape, "conv2d: kernel ", c.kh, "x", c.kw,
            " is larger than the padded input ", c.h + 2 * c.ph, "x", c.w + 2 * c.pw, " (x ", x.desc(), ")");
  c.ho = eh / c.sh + 1;
  c.wo = ew / c.sw + 1;
  return c;
}

GroupNormConv group_norm_conv_parts(const Tensors& in, const Attrs& attrs) {
  auto at = [&](size_t i) { return i < in.size() ? in[i] : Tensor(); };
  const char* op = "group_norm_conv2d";
  VLV_CHECK(at(0).defined() && at(3).defined(), ErrorCode::Arg, op, ": x and weight are required");
  if (grad_enabled())
    for (size_t i = 0; i < in.size(); ++i)
      VLV_CHECK(!in[i].defined() || !in[i].requires_grad(), ErrorCode::Arg, op, ": has no backward; input ", i,
                " requires grad: call it under no_grad, or use group_norm + conv2d");
  GroupNormConv p;
  p.norm_in = {at(0), at(1), at(2)};
  p.norm = Attrs{
      {"groups", attrs.i("norm_groups")}, {"eps", attrs.f("eps", 1e-5)}, {"silu", int64_t(attrs.b("silu", false))}};
  p.weight = at(3);
  p.bias = at(4);
  p.conv = Attrs{
      {"stride", attrs.ints("stride", {1})}, {"padding", attrs.ints("padding", {0})}, {"groups", attrs.i("groups", 1)}};
  check_dim(at(0), 4, op, "x");
  const int64_t C = at(0).size(1), G = p.norm.i("groups");
  VLV_CHECK(G >= 1 && C % G == 0, ErrorCode::Arg, op, ": norm_groups ", G, " must divide the channels ", C);
  for (size_t i : {size_t(1), size_t(2)})
    if (at(i).defined()) {
      VLV_CHECK(at(i).dim() == 1 && at(i).size(0) == C, ErrorCode::Shape, op, ": ",
                i == 1 ? "norm_weight " : "norm_bias ", at(i).desc(), " must be [", C, "]");
      VLV_CHECK(at(i).dtype() == at(0).dtype(), ErrorCode::DType, op, ": ", i == 1 ? "norm_weight " : "norm_bias ",
                at(i).desc(), " must have x's dtype ", dtype_name(at(0).dtype()));
    }
  p.norm.op_name = "group_norm";
  p.conv.op_name = "conv2d";
  return p;
}

}  // namespace vlv
