// Typed C++ entry points over call(), for models and backward rules:
// ops::linear(x, w, b, "gelu") instead of call(OpId::linear, {x, w, b}, {{"activation", ...}}).
// The last section reaches the fused backward kernels (ops.h: VLV_GRAD_KERNELS), internal:
// for the rules in ops/grad only.
#pragma once
#include <string>

#include "ops/dispatch.h"

namespace vlv::ops {

inline Tensor one(OpId op, const Tensors& in, const Attrs& a = {}) { return call(op, in, a)[0]; }

inline Tensor add(const Tensor& a, const Tensor& b) { return one(OpId::add, {a, b}); }
inline Tensor sub(const Tensor& a, const Tensor& b) { return one(OpId::sub, {a, b}); }
inline Tensor mul(const Tensor& a, const Tensor& b) { return one(OpId::mul, {a, b}); }
inline Tensor div(const Tensor& a, const Tensor& b) { return one(OpId::div, {a, b}); }
inline Tensor scale(const Tensor& x, double alpha, double beta = 0) {
  return one(OpId::scale, {x}, {{"alpha", alpha}, {"beta", beta}});
}
inline Tensor cast(const Tensor& x, DType dt) { return one(OpId::cast, {x}, {{"dtype", std::string(dtype_name(dt))}}); }

// ops::neg(x), ops::exp(x), ...: one per row of VLV_UNARY_OPS.
#define VLV_UNARY_API(X, name, f, dfdx)                                                                                \
  inline Tensor name(const Tensor& x) { return one(OpId::name, {x}); }
VLV_UNARY_OPS(VLV_UNARY_API, _)
#undef VLV_UNARY_API

inline Tensor gelu(const Tensor& x, bool tanh_approx = false) {
  return one(OpId::gelu, {x}, {{"approximate", std::string(tanh_approx ? "tanh" : "none")}});
}
inline Tensor quick_gelu(const Tensor& x) { return one(OpId::quick_gelu, {x}); }
inline Tensor silu(const Tensor& x) { return one(OpId::silu, {x}); }
inline Tensor geglu(const Tensor& x) { return one(OpId::geglu, {x}); }
inline Tensor swiglu(const Tensor& gate, const Tensor& up) { return one(OpId::swiglu, {gate, up}); }

inline Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false, double alpha = 1) {
  return one(OpId::matmul, {a, b}, {{"trans_a", int64_t(trans_a)}, {"trans_b", int64_t(trans_b)}, {"alpha", alpha}});
}
inline Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias = {}, const std::string& act = "none") {
  return one(OpId::linear, {x, w, bias}, {{"activation", act}});
}
inline Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride, int64_t padding,
                     int64_t groups = 1) {
  return one(OpId::conv2d, {x, w, bias}, {{"stride", stride}, {"padding", padding}, {"groups", groups}});
}

// conv2d(silu?(group_norm(x))) in one op (inference only: see ops.h).
inline Tensor group_norm_conv2d(const Tensor& x, const Tensor& norm_w, const Tensor& norm_b, int64_t norm_groups,
                                double eps, bool silu, const Tensor& w, const Tensor& bias, int64_t stride,
                                int64_t padding) {
  return one(
      OpId::group_norm_conv2d, {x, norm_w, norm_b, w, bias},
      {{"norm_groups", norm_groups}, {"eps", eps}, {"silu", int64_t(silu)}, {"stride", stride}, {"padding", padding}});
}
inline Tensor group_norm(const Tensor& x, const Tensor& w, const Tensor& b, int64_t groups, double eps,
                         bool fused_silu = false) {
  return one(OpId::group_norm, {x, w, b}, {{"groups", groups}, {"eps", eps}, {"silu", int64_t(fused_silu)}});
}
inline Tensor layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
  return one(OpId::layer_norm, {x, w, b}, {{"eps", eps}});
}
inline Tensor rms_norm(const Tensor& x, const Tensor& w, double eps) {
  return one(OpId::rms_norm, {x, w}, {{"eps", eps}});
}
inline Tensor softmax(const Tensor& x) { return one(OpId::softmax, {x}); }

// Returns {out, lse}. scale <= 0 means 1/sqrt(D).
inline Tensors attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask = {},
                         bool causal = false, double scale = 0) {
  Attrs a{{"causal", int64_t(causal)}};
  if (scale > 0) a.set("scale", scale);
  return call(OpId::attention, {q, k, v, mask}, a);
}

inline Tensor embedding(const Tensor& weight, const Tensor& ids) { return one(OpId::embedding, {weight, ids}); }
inline Tensor rope(const Tensor& x, const Tensor& positions, double theta, bool bf16_tables = false) {
  return one(OpId::rope, {x, positions}, {{"theta", theta}, {"bf16_tables", int64_t(bf16_tables)}});
}
inline Tensor timestep_embedding(const Tensor& t, int64_t dim, bool flip_sin_to_cos, double freq_shift,
                                 double scale = 1, double max_period = 10000) {
  return one(OpId::timestep_embedding, {t},
             {{"dim", dim},
              {"flip_sin_to_cos", int64_t(flip_sin_to_cos)},
              {"downscale_freq_shift", freq_shift},
              {"scale", scale},
              {"max_period", max_period}});
}

inline Tensor reshape(const Tensor& x, const Shape& shape) { return one(OpId::reshape, {x}, {{"shape", shape}}); }
inline Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end) {
  return one(OpId::slice, {x}, {{"dim", dim}, {"start", start}, {"end", end}});
}
inline Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  return one(OpId::permute, {x}, {{"dims", dims}});
}
inline Tensor concat(const Tensors& xs, int64_t dim) { return one(OpId::concat, xs, {{"dim", dim}}); }
inline Tensors split(const Tensor& x, int64_t dim, const std::vector<int64_t>& sizes) {
  return call(OpId::split, {x}, {{"dim", dim}, {"sizes", sizes}});
}
inline Tensor upsample_nearest2x(const Tensor& x) { return one(OpId::upsample_nearest2x, {x}); }

inline Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false) {
  return one(OpId::sum, {x}, {{"dims", dims}, {"keepdim", int64_t(keepdim)}});
}
inline Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false) {
  return one(OpId::mean, {x}, {{"dims", dims}, {"keepdim", int64_t(keepdim)}});
}
inline Tensor mse_loss(const Tensor& a, const Tensor& b, const std::string& reduction = "mean") {
  return one(OpId::mse_loss, {a, b}, {{"reduction", reduction}});
}
inline Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100,
                            const std::string& reduction = "mean") {
  return one(OpId::cross_entropy, {logits, targets}, {{"ignore_index", ignore_index}, {"reduction", reduction}});
}

// The Philox stream (the same numbers on every device), drawn where it is used.
inline Tensor randn(const Shape& shape, uint64_t seed, uint64_t offset = 0, Device device = Device::CPU) {
  return call_on(device, OpId::randn, {{"shape", shape}, {"seed", int64_t(seed)}, {"offset", int64_t(offset)}})[0];
}
inline Tensor rand(const Shape& shape, uint64_t seed, uint64_t offset = 0, Device device = Device::CPU) {
  return call_on(device, OpId::rand, {{"shape", shape}, {"seed", int64_t(seed)}, {"offset", int64_t(offset)}})[0];
}

// ---- Fused backward kernels (internal: ops/grad's rules). `fwd` is the forward op's attrs
// (what the kernel reads of them is in ops.h); `needs` one 0/1 per gradient output.

inline Tensor expand(const Tensor& x, const Shape& shape) { return one(OpId::expand, {x}, {{"shape", shape}}); }
inline Tensor unary_backward(const Tensor& x, const Tensor& y, const Tensor& gy, const std::string& op) {
  return one(OpId::unary_backward, {x, y, gy}, {{"op", op}});
}
inline Tensor activation_backward(const Tensor& x, const Tensor& gy, const std::string& act) {
  return one(OpId::activation_backward, {x, gy}, {{"activation", act}});
}
inline Tensors gated_backward(const Tensor& a, const Tensor& b, const Tensor& gy, Attrs fwd, const std::string& kind,
                              const std::vector<int64_t>& needs) {
  fwd.set("kind", kind).set("needs", needs);
  return call(OpId::gated_backward, {a, b, gy}, fwd);
}
inline Tensor linear_backward_input(const Tensor& gy, const Tensor& w) {
  return one(OpId::linear_backward_input, {gy, w});
}
inline Tensors conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& gy, Attrs fwd,
                               const std::vector<int64_t>& needs) {
  fwd.set("needs", needs);
  return call(OpId::conv2d_backward, {x, w, gy}, fwd);
}
inline Tensors group_norm_backward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& stats,
                                   const Tensor& gy, Attrs fwd, const std::vector<int64_t>& needs) {
  fwd.set("needs", needs);
  return call(OpId::group_norm_backward, {x, w, b, stats, gy}, fwd);
}
inline Tensors layer_norm_backward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& stats,
                                   const Tensor& gy, const std::vector<int64_t>& needs) {
  return call(OpId::layer_norm_backward, {x, w, b, stats, gy}, {{"needs", needs}});
}
inline Tensors rms_norm_backward(const Tensor& x, const Tensor& w, const Tensor& stats, const Tensor& gy,
                                 const std::vector<int64_t>& needs) {
  return call(OpId::rms_norm_backward, {x, w, stats, gy}, {{"needs", needs}});
}
inline Tensor softmax_backward(const Tensor& y, const Tensor& gy) { return one(OpId::softmax_backward, {y, gy}); }
inline Tensors attention_backward(const Tensors& q_k_v_mask, const Tensor& out, const Tensor& lse, const Tensor& gout,
                                  Attrs fwd, const std::vector<int64_t>& needs) {
  fwd.set("needs", needs);
  return call(OpId::attention_backward,
              {q_k_v_mask.at(0), q_k_v_mask.at(1), q_k_v_mask.at(2), q_k_v_mask.size() > 3 ? q_k_v_mask[3] : Tensor(),
               out, lse, gout},
              fwd);
}
inline Tensor embedding_backward(const Tensor& weight, const Tensor& ids, const Tensor& gy) {
  return one(OpId::embedding_backward, {weight, ids, gy});
}
inline Tensor rope_backward(const Tensor& gy, const Tensor& positions, double theta, bool bf16_tables = false) {
  return one(OpId::rope_backward, {gy, positions}, {{"theta", theta}, {"bf16_tables", int64_t(bf16_tables)}});
}
inline Tensor cross_entropy_backward(const Tensor& logits, const Tensor& targets, const Tensor& lse, const Tensor& gy,
                                     const Attrs& fwd) {
  return one(OpId::cross_entropy_backward, {logits, targets, lse, gy}, fwd);
}

}  // namespace vlv::ops
