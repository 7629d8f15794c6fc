// The unary ops of VLV_UNARY_OPS (ops.h) on the device: y = f(x) and gx = gy * dy/dx(x, y)
// per element, in f32 on f32 / bf16 / f16 data, the same formulas as the CPU kernels
// (ops/cpu/elementwise_unary.cc). One kernel per op, expanded from the list; the op code is
// the UnaryOp order, which the ABI version hashes. Not run on a GPU yet.
#include "cuda/kernels.h"
#include "ops/cuda/kernels/common.cuh"
#include "ops/ops.h"

namespace vlv::cuda {

namespace {
// The row's formulas as device functions, one struct per op.
#define VLV_UNARY_FN(X, name, f, dfdx)                                                                                 \
  struct Unary_##name {                                                                                                \
    __device__ static float fwd(float x) { return f; }                                                                 \
    __device__ static float grad(float x, float y) {                                                                   \
      (void)x;                                                                                                         \
      (void)y;                                                                                                         \
      return dfdx;                                                                                                     \
    }                                                                                                                  \
  };
VLV_UNARY_OPS(VLV_UNARY_FN, _)
#undef VLV_UNARY_FN

template <class Op, class T>
__global__ void unary_kernel(const T* x, T* y, int64_t n) {
  VLV_KERNEL_LOOP(i, n) store(y, i, Op::fwd(load(x, i)));
}

template <class Op, class T>
__global__ void unary_backward_kernel(const T* x, const T* y, const T* gy, T* gx, int64_t n) {
  VLV_KERNEL_LOOP(i, n) store(gx, i, load(gy, i) * Op::grad(load(x, i), load(y, i)));
}

// Calls fn with a value of the op's struct type; E_ARG for an unknown code.
template <class F>
int with_op(int op, F fn) {
  switch (op) {
#define VLV_UNARY_CASE(X, name, f, dfdx)                                                                               \
  case int(UnaryOp::name): return fn(Unary_##name{});
    VLV_UNARY_OPS(VLV_UNARY_CASE, _)
#undef VLV_UNARY_CASE
  }
  return set_error(VLV_CUDA_E_ARG, "unary: unknown op code " + std::to_string(op));
}
}  // namespace

int unary(int op, int dtype, int64_t n, const void* x, void* y) {
  if (int rc = device_ok()) return rc;
  if (n == 0) return VLV_CUDA_OK;
  return with_op(op, [&](auto o) {
    using Op = decltype(o);
    return VLV_FLOAT_SWITCH(dtype, T, {
      unary_kernel<Op, T><<<blocks_for(n, 256), 256, 0, stream()>>>(static_cast<const T*>(x), static_cast<T*>(y), n);
      return launched("unary");
    });
  });
}

int unary_backward(int op, int dtype, int64_t n, const void* x, const void* y, const void* gy, void* gx) {
  if (int rc = device_ok()) return rc;
  if (n == 0) return VLV_CUDA_OK;
  return with_op(op, [&](auto o) {
    using Op = decltype(o);
    return VLV_FLOAT_SWITCH(dtype, T, {
      unary_backward_kernel<Op, T><<<blocks_for(n, 256), 256, 0, stream()>>>(
          static_cast<const T*>(x), static_cast<const T*>(y), static_cast<const T*>(gy), static_cast<T*>(gx), n);
      return launched("unary backward");
    });
  });
}

}  // namespace vlv::cuda
