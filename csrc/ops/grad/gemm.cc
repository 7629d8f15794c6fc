// Backward rules, matmul and linear (ops.h), composed from products.
//   matmul, C = alpha op(A) op(B):  d op(A) = alpha dC op(B)^T,  d op(B) = alpha op(A)^T dC,
//     each written as one matmul straight into the stored layout of A / B (a transposed
//     operand swaps the factors instead of permuting the result). A 2-D b shared by a batched
//     a: its gradient sums over the batch, folded into the rows of one product when a is not
//     transposed (else per-batch products summed); a transposed a's gradient is then the
//     permuted product (a 2-D operand cannot lead a batched matmul).
//   linear, y = act(x w^T + bias): the gradient at the pre-activation (the fused
//     activation_backward on the saved pre-activation; gy itself without an activation),
//     then dx = g @ w (linear_backward_input: a 16-bit weight stays 16-bit on the CPU),
//     dw = g^T x, dbias = the column sums of g.
#include "ops/api.h"
#include "ops/grad/grad.h"

namespace vlv::grad {

namespace {
Tensor swap_last2(const Tensor& t) {
  std::vector<int64_t> dims(size_t(t.dim()));
  for (size_t i = 0; i < dims.size(); ++i) dims[i] = int64_t(i);
  std::swap(dims[dims.size() - 1], dims[dims.size() - 2]);
  return ops::permute(t, dims);
}

// The product of every dim of t but the last.
int64_t rows_of(const Tensor& t) { return shape_numel(Shape(t.shape().begin(), t.shape().end() - 1)); }

// t [..., R, C] as [prod(...) * R, C].
Tensor fold_rows(const Tensor& t) { return t.reshape({rows_of(t), t.size(-1)}); }
}  // namespace

Tensors matmul(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor()};
  const Tensor &A = a.inputs[0], &B = a.inputs[1];
  const bool ta = a.attrs.b("trans_a", false), tb = a.attrs.b("trans_b", false);
  const double alpha = a.attrs.f("alpha", 1.0);
  const bool shared = B.dim() == 2 && A.dim() > 2;  // one b for every batch of a
  Tensor ga, gb;
  if (needs(a, 0)) {
    if (!ta) ga = ops::matmul(go, B, false, !tb, alpha);         // [..., M, K]
    else if (!shared) ga = ops::matmul(B, go, tb, true, alpha);  // [..., K, M]
    else ga = swap_last2(ops::matmul(go, B, false, !tb, alpha));
  }
  if (needs(a, 1)) {
    const bool fold = shared && !ta;  // the batch folds into the rows of one product
    const Tensor a2 = fold ? fold_rows(A) : A, g2 = fold ? fold_rows(go) : go;
    gb = !tb ? ops::matmul(a2, g2, !ta, false, alpha)  // [K, N]
             : ops::matmul(g2, a2, true, ta, alpha);   // [N, K]
    if (shared && !fold) gb = sum_to_shape(gb, B.shape());
  }
  return {ga, gb};
}

Tensors linear(const BackwardArgs& a) {
  const Tensor& gy = a.grad_outputs[0];
  if (!gy.defined()) return {Tensor(), Tensor(), Tensor()};
  const Tensor &x = a.inputs[0], &w = a.inputs[1];
  const Tensor bias = a.inputs.size() > 2 ? a.inputs[2] : Tensor();
  const std::string act = a.attrs.s("activation", "none");
  VLV_CHECK(act == "none" || !a.saved.empty(), ErrorCode::Internal,
            "linear: backward without the saved pre-activation");
  const Tensor g = act == "none" ? gy : ops::activation_backward(a.saved[0], gy, act);
  const int64_t in = w.size(1), out = w.size(0), rows = rows_of(x);
  const Tensor g2 = g.reshape({rows, out});
  Tensor gx, gw, gb;
  if (needs(a, 0)) gx = ops::linear_backward_input(g, w);
  if (needs(a, 1)) gw = ops::matmul(g2, x.reshape({rows, in}), true, false);
  if (needs(a, 2) && bias.defined())  // summed in the bias's dtype (an f32 bias of a 16-bit x on CUDA)
    gb = ops::sum(g2.dtype() == bias.dtype() ? g2 : ops::cast(g2, bias.dtype()), {0});
  return {gx, gw, gb};
}

}  // namespace vlv::grad
