// CUDA kernel table, normalisation and softmax (kernels: kernels/norm.cu, norm_softmax.cu):
// layer_norm and rms_norm over the last dim, group_norm with optional fused SiLU, softmax
// over the last dim, and their fused backward kernels (ops.h; the rules are
// ops/grad/norm.cc). The forward saves its statistics as one f32 tensor `stats` [2, rows]
// (row 0 the mean, row 1 rstd per row / group), read by the backward kernels here; weight
// and bias gradients come back in f32 and are cast to the parameter's dtype.
#include "ops/cuda/common.h"
#include "ops/cuda/table.h"

namespace vlv::cudaops {

namespace {
void check_param(const Tensor& p, const Tensor& x, int64_t n, const char* op, const char* arg) {
  if (!p.defined()) return;
  check_cuda_float(p, op, arg);
  VLV_CHECK(p.dim() == 1 && p.size(0) == n, ErrorCode::Shape, op, ": ", arg, " ", p.desc(), " must be [", n, "]");
  VLV_CHECK(p.dtype() == x.dtype(), ErrorCode::DType, op, ": ", arg, " ", p.desc(), " must have x's dtype ",
            dtype_name(x.dtype()));
}

const void* raw_or_null(const Tensor& t) { return t.defined() ? t.raw() : nullptr; }

// The rows of a saved `stats` [2, rows]: the mean, then rstd.
float* mean_of(const Tensor& stats) { return stats.data<float>(); }
float* rstd_of(const Tensor& stats) { return stats.data<float>() + stats.size(1); }

Tensors norm_forward(bool rms, const Tensors& in, const Attrs& attrs, Saved* saved, const char* op) {
  const Tensor &x = input(in, 0), &w = input(in, 1), &b = rms ? Tensor() : input(in, 2);
  check_cuda_float(x, op, "x");
  VLV_CHECK(x.dim() >= 1, ErrorCode::Shape, op, ": x must have at least 1 dim");
  const int64_t cols = x.size(-1), rows = cols ? x.numel() / cols : 0;
  check_param(w, x, cols, op, "weight");
  check_param(b, x, cols, op, "bias");
  Tensor y = empty(x.shape(), x.dtype()), stats = empty({2, rows}, DType::F32);
  ck(api().norm(rms, dt(x.dtype()), rows, cols, x.raw(), raw_or_null(w), raw_or_null(b),
                float(attrs.f("eps", rms ? 1e-6 : 1e-5)), y.raw(), mean_of(stats), rstd_of(stats)),
     op);
  if (saved) *saved = {stats};
  return {y};
}

// layer_norm: x, weight, bias, stats, gy; rms_norm: x, weight, stats, gy.
Tensors norm_backward(bool rms, const Tensors& in, const Attrs& attrs, const char* op) {
  const Tensor &x = input(in, 0), &w = input(in, 1), &b = rms ? Tensor() : input(in, 2);
  const Tensor &stats = input(in, rms ? 2 : 3), &go = input(in, rms ? 3 : 4);
  const int64_t cols = x.size(-1), rows = cols ? x.numel() / cols : 0;
  Tensor gx = wants_grad(attrs, 0) ? empty(x.shape(), x.dtype()) : Tensor();
  Tensor gw = wants_grad(attrs, 1) && w.defined() ? empty({cols}, DType::F32) : Tensor();
  Tensor gb = !rms && wants_grad(attrs, 2) && b.defined() ? empty({cols}, DType::F32) : Tensor();
  ck(api().norm_backward(rms, dt(x.dtype()), rows, cols, x.raw(), raw_or_null(w), mean_of(stats), rstd_of(stats),
                         cast_to(go, x.dtype()).raw(), gx.defined() ? gx.raw() : nullptr,
                         gw.defined() ? gw.data<float>() : nullptr, gb.defined() ? gb.data<float>() : nullptr),
     op);
  Tensors out(rms ? 2 : 3);
  out[0] = gx;
  if (gw.defined()) out[1] = cast_to(gw, w.dtype());
  if (gb.defined()) out[2] = cast_to(gb, b.dtype());
  return out;
}
}  // namespace

Tensors layer_norm(const Tensors& in, const Attrs& a, Saved* s) { return norm_forward(false, in, a, s, "layer_norm"); }
Tensors layer_norm_backward(const Tensors& in, const Attrs& a, Saved*) {
  return norm_backward(false, in, a, "layer_norm backward");
}
Tensors rms_norm(const Tensors& in, const Attrs& a, Saved* s) { return norm_forward(true, in, a, s, "rms_norm"); }
Tensors rms_norm_backward(const Tensors& in, const Attrs& a, Saved*) {
  return norm_backward(true, in, a, "rms_norm backward");
}

Tensors group_norm(const Tensors& in, const Attrs& attrs, Saved* saved) {
  const Tensor &x = input(in, 0), &w = input(in, 1), &b = input(in, 2);
  check_cuda_float(x, "group_norm", "x");
  VLV_CHECK(x.dim() >= 2, ErrorCode::Shape, "group_norm: x ", x.desc(), " must be [N, C, *]");
  const int64_t N = x.size(0), C = x.size(1), HW = N * C != 0 ? x.numel() / (N * C) : 0;
  const int64_t G = attrs.i("groups");
  VLV_CHECK(G > 0 && C % G == 0, ErrorCode::Arg, "group_norm: groups ", G, " must divide the channels ", C);
  check_param(w, x, C, "group_norm", "weight");
  check_param(b, x, C, "group_norm", "bias");
  Tensor y = empty(x.shape(), x.dtype()), stats = empty({2, N * G}, DType::F32);
  ck(api().group_norm(dt(x.dtype()), N, C, HW, G, x.raw(), raw_or_null(w), raw_or_null(b), float(attrs.f("eps", 1e-5)),
                      int(attrs.b("silu", false)), y.raw(), mean_of(stats), rstd_of(stats)),
     "group_norm");
  if (saved) *saved = {stats};
  return {y};
}

// x, weight, bias, stats, gy -> (gx, gw, gb) as attrs needs asks.
Tensors group_norm_backward(const Tensors& in, const Attrs& attrs, Saved*) {
  Tensors out(3);
  const Tensor &x = input(in, 0), &w = input(in, 1), &b = input(in, 2), &stats = input(in, 3), &go = input(in, 4);
  const int64_t N = x.size(0), C = x.size(1), HW = N * C != 0 ? x.numel() / (N * C) : 0, G = attrs.i("groups");
  auto wants = [&](size_t i) { return wants_grad(attrs, i) && input(in, i).defined(); };
  Tensor gx = wants(0) ? empty(x.shape(), x.dtype()) : Tensor();
  Tensor gw = wants(1) ? empty({C}, DType::F32) : Tensor();
  Tensor gb = wants(2) ? empty({C}, DType::F32) : Tensor();
  ck(api().group_norm_backward(dt(x.dtype()), N, C, HW, G, x.raw(), raw_or_null(w), raw_or_null(b), mean_of(stats),
                               rstd_of(stats), int(attrs.b("silu", false)), cast_to(go, x.dtype()).raw(),
                               gx.defined() ? gx.raw() : nullptr, gw.defined() ? gw.data<float>() : nullptr,
                               gb.defined() ? gb.data<float>() : nullptr),
     "group_norm backward");
  out[0] = gx;
  if (gw.defined()) out[1] = cast_to(gw, w.dtype());
  if (gb.defined()) out[2] = cast_to(gb, b.dtype());
  return out;
}

Tensors softmax(const Tensors& in, const Attrs&, Saved*) {
  const Tensor& x = input(in, 0);
  check_cuda_float(x, "softmax", "x");
  VLV_CHECK(x.dim() >= 1, ErrorCode::Shape, "softmax: x must have at least 1 dim");
  const int64_t cols = x.size(-1), rows = cols ? x.numel() / cols : 0;
  Tensor y = empty(x.shape(), x.dtype());
  ck(api().softmax(dt(x.dtype()), rows, cols, x.raw(), y.raw()), "softmax");
  return {y};
}

// y, gy -> gx.
Tensors softmax_backward(const Tensors& in, const Attrs&, Saved*) {
  const Tensor &y = input(in, 0), &go = input(in, 1);
  const int64_t cols = y.size(-1), rows = cols ? y.numel() / cols : 0;
  Tensor gx = empty(y.shape(), y.dtype());
  ck(api().softmax_backward(dt(y.dtype()), rows, cols, y.raw(), cast_to(go, y.dtype()).raw(), gx.raw()),
     "softmax backward");
  return {gx};
}

}  // namespace vlv::cudaops
