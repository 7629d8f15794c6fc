// CUDA kernel table, matmul and linear (kernels: csrc/cuda/gemm.cu, gemm_kernels.cu):
// one batched/strided GEMM call each, the bias and activation fused into its epilogue
// (linear keeps the pre-activation for the backward). Backward rules are matmuls again,
// with a permute of the last two dims for transposed operands and a reduce over the batch
// for a shared 2-D b.
#include "ops/api.h"
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

Tensor swap_last2(const Tensor& t) {
  std::vector<int64_t> dims(size_t(t.dim()));
  for (size_t i = 0; i < dims.size(); ++i) dims[i] = int64_t(i);
  std::swap(dims[dims.size() - 1], dims[dims.size() - 2]);
  return ops::permute(t, dims);
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
  VLV_CHECK(b.dim() == 2 || bb == batch, ErrorCode::Shape, "matmul: batch dims differ: a ", a.desc(), " b ",
            b.desc());
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

Tensors matmul_backward(const BackwardArgs& g) {
  const Tensor& go = g.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor()};
  const Tensor &a = g.inputs[0], &b = g.inputs[1];
  const bool ta = g.attrs.b("trans_a", false), tb = g.attrs.b("trans_b", false);
  const double alpha = g.attrs.f("alpha", 1);
  Tensor ga, gb;
  if (g.needs_grad[0]) {  // d op(A) = alpha * go @ op(B)^T
    ga = ops::matmul(go, b, false, !tb, alpha);
    if (ta) ga = swap_last2(ga);
  }
  if (g.needs_grad[1]) {  // d op(B) = alpha * op(A)^T @ go, summed over the batch when b is shared
    gb = ops::matmul(a, go, !ta, false, alpha);
    if (tb) gb = swap_last2(gb);
    if (b.dim() == 2 && gb.dim() > 2) gb = sum_to_shape(gb, b.shape());
  }
  return {ga, gb};
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

Tensors linear_backward(const BackwardArgs& g) {
  Tensor go = g.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor(), Tensor()};
  const Tensor &x = g.inputs[0], &w = g.inputs[1], &bias = input(g.inputs, 2);
  const int act = activation_code(g.attrs.s("activation", "none"), "linear");
  if (act != VLV_CUDA_ACT_NONE) go = act_backward(act, g.saved.at(0), go);
  const int64_t in_f = w.size(1), out_f = w.size(0);
  Tensor g2 = go.reshape({-1, out_f}), x2 = x.reshape({-1, in_f});
  Tensor gx, gw, gb;
  if (g.needs_grad[0]) gx = ops::matmul(g2, w).reshape(x.shape());
  if (g.needs_grad[1]) gw = ops::matmul(g2, x2, true, false);
  if (g.needs_grad.size() > 2 && g.needs_grad[2] && bias.defined())
    gb = cast_to(reduce(g2, {true, false}, 1.f, false, DType::F32), bias.dtype());
  return {gx, gw, gb};
}

}  // namespace vlv::cudaops
