// Backward rules, shape ops (ops.h), each the adjoint move composed from the shape ops:
//   reshape: gy reshaped back (a view);  permute: gy permuted by the inverse;
//   slice: gy between zero blocks (a concat along the sliced dim);
//   concat: each input's range of gy (a slice);
//   split: the outputs' gradients concatenated, zeros for outputs that received none.
#include "ops/check/shape.h"
#include "ops/api.h"
#include "ops/grad/grad.h"

namespace vlv::grad {

namespace {
// Zeros shaped like `like` with `len` along dim d, in gradient g's dtype and device.
Tensor zeros_along(const Tensor& like, int64_t d, int64_t len, const Tensor& g) {
  Shape s = like.shape();
  s[size_t(d)] = len;
  return Tensor::zeros(s, g.dtype(), g.device());
}
}  // namespace

Tensors reshape(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined() || !needs(a, 0)) return {Tensor()};
  return {go.reshape(a.inputs[0].shape())};
}

Tensors slice(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined() || !needs(a, 0)) return {Tensor()};
  const Tensor& x = a.inputs[0];
  const SliceRange r = slice_range(x, a.attrs);
  const int64_t after = x.size(r.dim) - r.start - r.len;
  Tensors parts;
  if (r.start > 0) parts.push_back(zeros_along(x, r.dim, r.start, go));
  parts.push_back(go);
  if (after > 0) parts.push_back(zeros_along(x, r.dim, after, go));
  return {ops::concat(parts, r.dim)};
}

Tensors permute(const BackwardArgs& a) {
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined() || !needs(a, 0)) return {Tensor()};
  return {ops::permute(go, inverse_permutation(permute_dims(a.inputs[0], a.attrs)))};
}

Tensors concat(const BackwardArgs& a) {
  Tensors grads(a.inputs.size());
  const Tensor& go = a.grad_outputs[0];
  if (!go.defined()) return grads;
  const int64_t d = normalize_dim(a.attrs.i("dim", 0), go.dim(), "concat");
  int64_t at = 0;
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    const int64_t n = a.inputs[i].size(d);
    if (needs(a, i)) grads[i] = ops::slice(go, d, at, at + n);
    at += n;
  }
  return grads;
}

Tensors split(const BackwardArgs& a) {
  if (!needs(a, 0)) return {Tensor()};
  const Tensor* any = nullptr;
  for (const Tensor& t : a.grad_outputs)
    if (t.defined()) {
      any = &t;
      break;
    }
  if (!any) return {Tensor()};
  const Tensor& x = a.inputs[0];
  const int64_t d = normalize_dim(a.attrs.i("dim", 0), x.dim(), "split");
  Tensors parts;
  for (size_t i = 0; i < a.outputs.size(); ++i) {
    const bool has = i < a.grad_outputs.size() && a.grad_outputs[i].defined();
    parts.push_back(has ? a.grad_outputs[i] : zeros_along(x, d, a.outputs[i].size(d), *any));
  }
  return {ops::concat(parts, d)};
}

}  // namespace vlv::grad
