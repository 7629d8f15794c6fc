#include "ops/check/reduce.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace vlv {

ReduceDims reduce_dims(const Tensor& x, const Attrs& attrs, const char* op) {
  const std::vector<int64_t> dims = attrs.ints("dims", {});
  const int64_t r = x.dim(), wrap = std::max<int64_t>(r, 1);  // a scalar takes dim 0 / -1
  ReduceDims rd{std::vector<bool>(size_t(r), dims.empty()), attrs.b("keepdim", false), 1, {}, {}};
  std::vector<bool> seen(size_t(wrap), false);
  for (int64_t d : dims) {
    const int64_t w = d < 0 ? d + wrap : d;
    VLV_CHECK(w >= 0 && w < wrap, ErrorCode::Arg, op, ": dim ", d, " is out of range for ", x.desc());
    VLV_CHECK(!seen[size_t(w)], ErrorCode::Arg, op, ": dim ", d, " is listed twice in dims");
    seen[size_t(w)] = true;
    if (r) rd.mask[size_t(w)] = true;
  }
  for (size_t d = 0; d < size_t(r); ++d) {
    const int64_t n = x.shape()[d];
    if (!rd.mask[d]) {
      rd.kept.push_back(n);
      rd.out.push_back(n);
      continue;
    }
    rd.count *= n;
    rd.kept.push_back(1);
    if (rd.keepdim) rd.out.push_back(1);
  }
  return rd;
}

Reduction reduction_arg(const Attrs& attrs, const char* op) {
  const std::string r = attrs.s("reduction", "mean");
  if (r == "mean") return Reduction::Mean;
  if (r == "sum") return Reduction::Sum;
  if (r == "none") return Reduction::None;
  fail(ErrorCode::Arg, op, ": attribute 'reduction' must be \"mean\", \"sum\" or \"none\", got \"", r, "\"");
}

Reduction mse_loss_args(const Tensor& a, const Tensor& b, const Attrs& attrs) {
  VLV_CHECK(a.shape() == b.shape(), ErrorCode::Shape, "mse_loss: 'a' ", a.desc(), " and 'b' ", b.desc(),
            " must have the same shape");
  return reduction_arg(attrs, "mse_loss");
}

void check_cross_entropy_inputs(const Tensor& logits, const Tensor& targets) {
  check_dim(logits, 2, "cross_entropy", "logits");
  // A row's log-sum-exp needs a class (every target would be out of range anyway).
  VLV_CHECK(logits.size(1) > 0, ErrorCode::Shape, "cross_entropy: 'logits' ", logits.desc(), " has no classes");
  check_defined(targets, "cross_entropy", "targets");
  VLV_CHECK(targets.dtype() == DType::I32 || targets.dtype() == DType::I64, ErrorCode::DType,
            "cross_entropy: 'targets' must be i32 or i64, got ", targets.desc());
  VLV_CHECK(targets.dim() == 1 && targets.size(0) == logits.size(0), ErrorCode::Shape, "cross_entropy: 'targets' ",
            targets.desc(), " must be [N] for 'logits' ", logits.desc());
}

CrossEntropyArgs cross_entropy_args(const Tensor& logits, const Attrs& attrs) {
  CrossEntropyArgs a{};
  a.reduction = reduction_arg(attrs, "cross_entropy");
  a.n = logits.size(0), a.c = logits.size(1), a.ignore_index = attrs.i("ignore_index", -100);
  return a;
}

std::vector<int64_t> cross_entropy_targets(const Tensor& t, const CrossEntropyArgs& a) {
  std::vector<int64_t> out(size_t(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int64_t v = t.dtype() == DType::I32 ? int64_t(t.data<int32_t>()[i]) : t.data<int64_t>()[i];
    VLV_CHECK(v == a.ignore_index || (v >= 0 && v < a.c), ErrorCode::Arg, "cross_entropy: target ", v, " at row ", i,
              " is out of range [0, ", a.c, ") and is not ignore_index (", a.ignore_index, ")");
    out[size_t(i)] = v;
  }
  return out;
}

int64_t count_not_ignored(const std::vector<int64_t>& targets, int64_t ignore_index) {
  return std::count_if(targets.begin(), targets.end(), [&](int64_t t) { return t != ignore_index; });
}

}  // namespace vlv
