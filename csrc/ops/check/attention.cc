#include "ops/check/attention.h"

#include <cmath>

namespace vlv {

AttentionShape attention_shape(const Tensor& q, const Tensor& k, const Tensor& v, const Attrs& attrs) {
  check_dim(q, 4, "attention", "q");
  check_dim(k, 4, "attention", "k");
  check_dim(v, 4, "attention", "v");
  AttentionShape s{};
  s.b = q.size(0), s.hq = q.size(1), s.lq = q.size(2), s.d = q.size(3);
  s.hkv = k.size(1), s.lk = k.size(2), s.dv = v.size(3);
  VLV_CHECK(k.size(0) == s.b && v.size(0) == s.b, ErrorCode::Shape, "attention: batch sizes differ: q ", q.desc(),
            ", k ", k.desc(), ", v ", v.desc());
  VLV_CHECK(k.size(3) == s.d, ErrorCode::Shape, "attention: q ", q.desc(), " and k ", k.desc(), " head dims differ");
  VLV_CHECK(v.size(1) == s.hkv && v.size(2) == s.lk, ErrorCode::Shape, "attention: k ", k.desc(), " and v ", v.desc(),
            " differ in heads or length");
  VLV_CHECK(s.hkv > 0 && s.hq % s.hkv == 0, ErrorCode::Shape, "attention: query heads (", s.hq,
            ") must be a multiple of kv heads (", s.hkv, ")");
  VLV_CHECK(s.d > 0, ErrorCode::Shape, "attention: head dim of q ", q.desc(), " is 0");
  s.causal = attrs.b("causal", false);
  const double scale = attrs.f("scale", 1.0 / std::sqrt(double(s.d)));
  VLV_CHECK(std::isfinite(scale), ErrorCode::Arg, "attention: scale must be finite, got ", scale);
  s.scale = float(scale);
  return s;
}

std::array<int64_t, 4> attention_mask_strides(const Tensor& mask, const AttentionShape& s) {
  const Shape target{s.b, s.hq, s.lq, s.lk};
  VLV_CHECK(mask.dtype() == DType::Bool || mask.dtype() == DType::F32, ErrorCode::DType,
            "attention: mask must be bool or f32, got ", mask.desc());
  VLV_CHECK(mask.dim() <= 4, ErrorCode::Shape, "attention: mask ", mask.desc(), " is not broadcastable to ",
            shape_str(target));
  std::array<int64_t, 4> strides{0, 0, 0, 0};
  int64_t stride = 1;
  for (int64_t d = mask.dim() - 1; d >= 0; --d) {
    const int64_t td = 4 - mask.dim() + d, n = mask.size(d);
    VLV_CHECK(n == 1 || n == target[size_t(td)], ErrorCode::Shape, "attention: mask ", mask.desc(),
              " is not broadcastable to ", shape_str(target));
    strides[size_t(td)] = n == 1 ? 0 : stride;
    stride *= n;
  }
  return strides;
}

}  // namespace vlv
