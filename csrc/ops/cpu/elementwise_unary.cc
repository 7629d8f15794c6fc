// elementwise, the unary ops of VLV_UNARY_OPS (ops.h): y = f(x) per element in f32, and the
// gradient kernel gx = gy * dy/dx(x, y) their one backward rule calls. Both are expanded from
// the list, so a new row needs nothing here. libm's expf / logf / tanhf, one call per element
// (not vectorised: none of these ops is on a hot path yet).
#include <cmath>

#include "core/thread_pool.h"
#include "ops/check/elementwise.h"
#include "ops/cpu/inputs.h"
#include "ops/kernel.h"

namespace vlv::cpu {

namespace {
constexpr int64_t kGrain = 16384;  // elements per parallel chunk

template <class F>
Tensor map_unary(const Tensor& x, const char* op, F f) {
  check_float(x, op, "x");
  Tensor y = Tensor::empty(x.shape(), DType::F32);
  const float* px = x.data<float>();
  float* py = y.data<float>();
  parallel_for(x.numel(), kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) py[i] = f(px[i]);
  });
  return y;
}
}  // namespace

#define VLV_CPU_UNARY(X, name, f, dfdx)                                                                                \
  Tensors name(const Tensors& in, const Attrs&, Saved*) {                                                              \
    return {map_unary(input(in, 0), #name, [](float x) -> float { return f; })};                                       \
  }
VLV_UNARY_OPS(VLV_CPU_UNARY, _)
#undef VLV_CPU_UNARY

// Inputs x, y (the forward's output), gy; attrs op (the unary op's name).
Tensors unary_backward(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor &x = input(in, 0), &y = input(in, 1), &gy = input(in, 2);
  const UnaryOp op = unary_op(attrs);
  check_float(x, "unary backward", "x");
  check_float(y, "unary backward", "y");
  check_float(gy, "unary backward", "grad");
  Tensor gx = Tensor::empty(x.shape(), DType::F32);
  const float *px = x.data<float>(), *py = y.data<float>(), *pg = gy.data<float>();
  float* out = gx.data<float>();
  auto run = [&](auto dydx) {
    parallel_for(x.numel(), kGrain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) out[i] = pg[i] * dydx(px[i], py[i]);
    });
  };
  switch (op) {
#define VLV_CPU_UNARY_GRAD(X, name, f, dfdx)                                                                           \
  case UnaryOp::name:                                                                                                  \
    run([](float x, float y) -> float {                                                                                \
      (void)x;                                                                                                         \
      (void)y;                                                                                                         \
      return dfdx;                                                                                                     \
    });                                                                                                                \
    break;
    VLV_UNARY_OPS(VLV_CPU_UNARY_GRAD, _)
#undef VLV_CPU_UNARY_GRAD
  }
  return {gx};
}

}  // namespace vlv::cpu
