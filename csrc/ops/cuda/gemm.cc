// CUDA kernel table, matmul and linear (kernels: kernels/gemm.cu, gemm_mma.cu): one
// batched/strided GEMM call each, the bias and activation fused into its epilogue (linear
// keeps the pre-activation for the backward), and linear_backward_input (gy @ w, the fused
// backward kernel of ops.h). The backward rules are products composed in ops/grad/gemm.cc.
#include "ops/cuda/common.h"
#include "ops/cuda/table.h"

namespace vlv::cudaops {

namespace {
void check_ab(const Tensor& a, const Tensor& b, const char* op) {
  check_cuda_float(a, op, "a");
  check_cuda_float(b, op, "b");
  VLV_CHECK(a.dtype() == b.dtype(), ErrorCode::DType, op, ": a ", a.desc(), " and b ", b.desc(),
            " must have the same dtype");
}
}  // namespace

Tensors matmul(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor &a = input(in, 0), &b = input(in, 1);
  check_ab(a, b, "matmul");
  VLV_CHECK(a.dim() >= 2 && b.dim() >= 2, ErrorCode::Shape, "matmul: a ", a.desc(), " and b ", b.desc(),
            " need at least 2 dims");
  const bool ta = attrs.b("trans_a", false), tb = attrs.b("trans_b", false);
  const int64_t M = ta ? a.size(-1) : a.size(-2), K = ta ? a.size(-2) : a.size(-1);
  const int64_t Kb = tb ? b.size(-1) : b.size(-2), N = tb ? b.size(-2) : b.size(-1);
  VLV_CHECK(K == Kb, ErrorCode::Shape, "matmul: inner dims differ: a ", a.desc(), " b ", b.desc());
  Shape batch(a.shape().begin(), a.shape().end() - 2);
  Shape bb(b.shape().begin(), b.shape().end() - 2);
  VLV_CHECK(b.dim() == 2 || bb == batch, ErrorCode::Shape, "matmul: batch dims differ: a ", a.desc(), " b ", b.desc());
  Shape out = batch;
  out.push_back(M);
  out.push_back(N);
  Tensor c = empty(out, a.dtype());
  VlvCudaGemm g{};
  g.ab_dtype = g.c_dtype = g.bias_dtype = dt(a.dtype());
  g.trans_a = ta;
  g.trans_b = tb;
  g.act = VLV_CUDA_ACT_NONE;
  g.m = M;
  g.n = N;
  g.k = K;
  g.batch = shape_numel(batch);
  g.lda = ta ? M : K;
  g.ldb = tb ? K : N;
  g.ldc = N;
  g.stride_a = M * K;
  g.stride_b = b.dim() == 2 ? 0 : K * N;
  g.stride_c = M * N;
  g.alpha = float(attrs.f("alpha", 1));
  g.a = a.raw();
  g.b = b.raw();
  g.c = c.raw();
  ck(api().gemm(&g), "matmul");
  return {c};
}

Tensors linear(const Tensors& in, const Attrs& attrs, Saved* saved) {
  const Tensor &x = input(in, 0), &w = input(in, 1), &bias = input(in, 2);
  check_ab(x, w, "linear");
  VLV_CHECK(w.dim() == 2 && x.dim() >= 1 && x.size(-1) == w.size(1), ErrorCode::Shape, "linear: x ", x.desc(),
            " does not fit w ", w.desc(), " (x[..., in] @ w[out, in]^T)");
  if (bias.defined()) {
    check_cuda_float(bias, "linear", "bias");
    VLV_CHECK(bias.dim() == 1 && bias.size(0) == w.size(0), ErrorCode::Shape, "linear: bias ", bias.desc(),
              " must be [", w.size(0), "]");
  }
  const int act = activation_code(attrs.s("activation", "none"), "linear");
  const int64_t in_f = w.size(1), out_f = w.size(0), rows = in_f ? x.numel() / in_f : 0;
  Shape out = x.shape();
  out.back() = out_f;
  Tensor y = empty(out, x.dtype());
  Tensor pre = saved && act != VLV_CUDA_ACT_NONE ? empty(out, x.dtype()) : Tensor();
  VlvCudaGemm g{};
  g.ab_dtype = g.c_dtype = dt(x.dtype());
  g.bias_dtype = bias.defined() ? dt(bias.dtype()) : g.c_dtype;
  g.trans_b = 1;
  g.act = act;
  g.m = rows;
  g.n = out_f;
  g.k = in_f;
  g.batch = 1;
  g.lda = in_f;
  g.ldb = in_f;
  g.ldc = out_f;
  g.alpha = 1.f;
  g.a = x.raw();
  g.b = w.raw();
  g.bias = bias.defined() ? bias.raw() : nullptr;
  g.c = y.raw();
  g.pre_act = pre.defined() ? pre.raw() : nullptr;
  ck(api().gemm(&g), "linear");
  if (pre.defined()) saved->push_back(pre);
  return {y};
}

// gy[..., out] @ w[out, in] -> [..., in] (linear's input gradient).
Tensors linear_backward_input(const Tensors& in, const Attrs&, Saved*) {
  const Tensor& w = input(in, 1);
  const Tensor gy = cast_to(input(in, 0), w.dtype());
  check_ab(gy, w, "linear_backward_input");
  const int64_t out_f = w.size(0), in_f = w.size(1),
                rows = shape_numel(Shape(gy.shape().begin(), gy.shape().end() - 1));
  Shape shape = gy.shape();
  shape.back() = in_f;
  Tensor dx = empty(shape, w.dtype());
  VlvCudaGemm g{};
  g.ab_dtype = g.c_dtype = g.bias_dtype = dt(w.dtype());
  g.act = VLV_CUDA_ACT_NONE;
  g.m = rows;
  g.n = in_f;
  g.k = out_f;
  g.batch = 1;
  g.lda = out_f;
  g.ldb = in_f;
  g.ldc = in_f;
  g.alpha = 1.f;
  g.a = gy.raw();
  g.b = w.raw();
  g.c = dx.raw();
  ck(api().gemm(&g), "linear_backward_input");
  return {dx};
}

}  // namespace vlv::cudaops
