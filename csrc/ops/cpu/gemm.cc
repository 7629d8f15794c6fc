// matmul and linear (ops.h) on the shared gemm_f32 (gemm.h); their backward rules are
// products composed in ops/grad/gemm.cc, with one fused kernel here: linear_backward_input.
//   matmul: a[...,M,K] @ b[...,K,N] (trans_a / trans_b read the last two dims transposed),
//     times alpha; batch dims equal, or b 2-D and shared by every batch (then, with a not
//     transposed, the batch folds into M: one GEMM). Many small batches run one GEMM per
//     thread; otherwise each GEMM uses the pool.
//   linear: x[...,in] @ w[out,in]^T (one GEMM, trans_b), then one pass adds the bias and
//     applies the activation (activation_vec.h); the pre-activation is saved for backward
//     when an activation is used. A bf16 / f16 weight stays 16-bit: linear_w16 (gemm_w16.cc)
//     multiplies it with the f32 input; its gradient is f32.
//   linear_backward_input: dx = gy @ w (linear_w16_dx for a 16-bit weight).
#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "ops/cpu/activation_vec.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/gemm_w16.h"
#include "ops/cpu/inputs.h"
#include "ops/kernel.h"

namespace vlv::cpu {

namespace {

// ---- matmul ------------------------------------------------------------------------------

struct MatmulGeom {
  bool ta, tb;
  float alpha;
  int64_t batch, M, N, K;
  bool b_shared;  // b is 2-D: the same matrix for every batch
  Shape out_shape;
  int64_t lda() const { return ta ? M : K; }
  int64_t ldb() const { return tb ? K : N; }
  int64_t a_stride() const { return M * K; }
  int64_t b_stride() const { return b_shared ? 0 : K * N; }
};

MatmulGeom matmul_geom(const Tensor& a, const Tensor& b, const Attrs& attrs) {
  check_float(a, "matmul", "a");
  check_float(b, "matmul", "b");
  VLV_CHECK(a.dim() >= 2, ErrorCode::Shape, "matmul: 'a' must have at least 2 dimensions, got ", a.desc());
  VLV_CHECK(b.dim() >= 2, ErrorCode::Shape, "matmul: 'b' must have at least 2 dimensions, got ", b.desc());
  MatmulGeom g;
  g.ta = attrs.b("trans_a", false);
  g.tb = attrs.b("trans_b", false);
  g.alpha = float(attrs.f("alpha", 1.0));
  g.M = a.size(g.ta ? -1 : -2);
  g.K = a.size(g.ta ? -2 : -1);
  const int64_t kb = b.size(g.tb ? -1 : -2);
  g.N = b.size(g.tb ? -2 : -1);
  VLV_CHECK(kb == g.K, ErrorCode::Shape, "matmul: inner dimensions differ: a ", a.desc(), g.ta ? " (transposed)" : "",
            " has K=", g.K, ", b ", b.desc(), g.tb ? " (transposed)" : "", " has K=", kb);
  const Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  g.b_shared = b.dim() == 2;
  VLV_CHECK(g.b_shared || batch_a == batch_b, ErrorCode::Shape, "matmul: batch dimensions differ: a ", a.desc(), ", b ",
            b.desc(), " (they must be equal, or b 2-D)");
  g.batch = shape_numel(batch_a);
  g.out_shape = batch_a;
  g.out_shape.push_back(g.M);
  g.out_shape.push_back(g.N);
  return g;
}

// Runs body(i) for i < batch: spread over the pool with serial GEMMs when the batches are
// many and small, otherwise one after another with a parallel GEMM each.
template <class F>
void for_each_batch(int64_t batch, double flops_per_batch, F&& body) {
  if (batch >= num_threads() && flops_per_batch < 8e6) {
    parallel_for(batch, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t i = b0; i < b1; ++i) body(i, false);
    });
  } else {
    for (int64_t i = 0; i < batch; ++i) body(i, true);
  }
}

}  // namespace

Tensors matmul(const Tensors& in, const Attrs& attrs, Saved*) {
  check_defined(input(in, 0), "matmul", "a");
  check_defined(input(in, 1), "matmul", "b");
  const Tensor &a = in[0], &b = in[1];
  const MatmulGeom g = matmul_geom(a, b, attrs);
  Tensor out = Tensor::empty(g.out_shape, DType::F32);
  const float *pa = a.data<float>(), *pb = b.data<float>();
  float* pc = out.data<float>();
  if (g.b_shared && !g.ta) {
    gemm_f32(false, g.tb, g.batch * g.M, g.N, g.K, g.alpha, pa, g.K, pb, g.ldb(), 0.f, pc, g.N);
    return {out};
  }
  for_each_batch(g.batch, 2.0 * g.M * g.N * g.K, [&](int64_t i, bool par) {
    gemm_f32(g.ta, g.tb, g.M, g.N, g.K, g.alpha, pa + i * g.a_stride(), g.lda(), pb + i * g.b_stride(), g.ldb(), 0.f,
             pc + i * g.M * g.N, g.N, par);
  });
  return {out};
}

// ---- linear ------------------------------------------------------------------------------

namespace {

struct LinearGeom {
  int64_t rows, in, out;
  act::Activation activation;
};

LinearGeom linear_geom(const Tensor& x, const Tensor& w, const Tensor& bias, const Attrs& attrs) {
  check_defined(x, "linear", "x");
  check_defined(w, "linear", "w");
  check_float(x, "linear", "x");
  VLV_CHECK(w.dtype() == DType::F32 || is_w16(w.dtype()), ErrorCode::DType,
            "linear: 'w' must be f32, bf16 or f16, got ", w.desc());
  check_dim(w, 2, "linear", "w");
  VLV_CHECK(x.dim() >= 1, ErrorCode::Shape, "linear: 'x' must have at least 1 dimension, got ", x.desc());
  LinearGeom g;
  g.in = w.size(1);
  g.out = w.size(0);
  VLV_CHECK(x.size(-1) == g.in, ErrorCode::Shape, "linear: x ", x.desc(), " has ", x.size(-1), " input features but w ",
            w.desc(), " expects ", g.in);
  if (bias.defined()) {
    check_float(bias, "linear", "bias");
    VLV_CHECK(bias.dim() == 1 && bias.size(0) == g.out, ErrorCode::Shape, "linear: bias ", bias.desc(), " must be [",
              g.out, "] for w ", w.desc());
  }
  g.rows = g.in ? x.numel() / g.in : shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  g.activation = act::parse_activation(attrs.s("activation", "none"), "linear");
  return g;
}

}  // namespace

Tensors linear(const Tensors& in, const Attrs& attrs, Saved* saved) {
  const Tensor x = input(in, 0), w = input(in, 1), bias = input(in, 2);
  const LinearGeom g = linear_geom(x, w, bias, attrs);
  Shape out_shape = x.shape();
  out_shape.back() = g.out;
  Tensor y = Tensor::empty(out_shape, DType::F32);
  const bool keep_pre = saved && g.activation != act::Activation::None;
  Tensor pre = keep_pre ? Tensor::empty(out_shape, DType::F32) : y;
  if (is_w16(w.dtype())) linear_w16(g.rows, x.data<float>(), w, pre.data<float>());
  else
    gemm_f32(false, true, g.rows, g.out, g.in, 1.f, x.data<float>(), g.in, w.data<float>(), g.in, 0.f,
             pre.data<float>(), g.out);
  if (bias.defined() || g.activation != act::Activation::None) {
    const float* pb = bias.defined() ? bias.data<float>() : nullptr;
    float *pp = pre.data<float>(), *py = y.data<float>();
    parallel_for(g.rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(g.out, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        float *p = pp + r * g.out, *o = py + r * g.out;
        if (pb)
          for (int64_t j = 0; j < g.out; ++j) p[j] += pb[j];
        if (g.activation != act::Activation::None) act::apply_array(g.activation, p, o, g.out);
      }
    });
  }
  if (keep_pre) saved->push_back(pre);
  return {y};
}

// dx[..., in] = gy[..., out] @ w[out, in] (linear's input gradient).
Tensors linear_backward_input(const Tensors& in, const Attrs&, Saved*) {
  const Tensor &gy = input(in, 0), &w = input(in, 1);
  check_float(gy, "linear_backward_input", "grad");
  const int64_t out = w.size(0), inf = w.size(1), rows = shape_numel(Shape(gy.shape().begin(), gy.shape().end() - 1));
  Shape shape = gy.shape();
  shape.back() = inf;
  Tensor dx = Tensor::empty(shape, DType::F32);
  if (is_w16(w.dtype())) linear_w16_dx(rows, gy.data<float>(), w, dx.data<float>());
  else
    gemm_f32(false, false, rows, inf, out, 1.f, gy.data<float>(), out, w.data<float>(), inf, 0.f, dx.data<float>(),
             inf);
  return {dx};
}

}  // namespace vlv::cpu
