// Activations: gelu (erf and tanh forms), quick_gelu, silu, elementwise, with their
// backward (gx = gy * f'(x)); geglu (x[..., 2H] -> h * gelu(g)) and swiglu (silu(gate) * up)
// forward and backward. f32/bf16/f16 data, f32 math, the CPU's formulas (activation_math.cuh).
// Not measured on a GPU yet.
#include "cuda/kernels.h"
#include "ops/cuda/kernels/activation_math.cuh"
#include "ops/cuda/kernels/common.cuh"

namespace vlv::cuda {

namespace {
template <class T>
__global__ void act_kernel(int a, const T* x, T* y, int64_t n) {
  VLV_KERNEL_LOOP(i, n) store(y, i, act::apply(a, load(x, i)));
}

template <class T>
__global__ void act_backward_kernel(int a, const T* x, const T* gy, T* gx, int64_t n) {
  VLV_KERNEL_LOOP(i, n) store(gx, i, load(gy, i) * act::grad(a, load(x, i)));
}

// Element i = (row r, column j) of the [rows, h] output. geglu reads h = x[r, j],
// g = x[r, h + j]; swiglu reads gate = a[i], up = b[i].
template <class T>
__global__ void gated_kernel(int kind, const T* a, const T* b, T* y, int64_t rows, int64_t h) {
  VLV_KERNEL_LOOP(i, rows * h) {
    if (kind == VLV_CUDA_GEGLU) {
      int64_t r = i / h, j = i - r * h;
      store(y, i, load(a, r * 2 * h + j) * act::apply(VLV_CUDA_ACT_GELU, load(a, r * 2 * h + h + j)));
    } else {
      store(y, i, act::apply(VLV_CUDA_ACT_SILU, load(a, i)) * load(b, i));
    }
  }
}

template <class T>
__global__ void gated_backward_kernel(int kind, const T* a, const T* b, const T* gy, T* ga, T* gb, int64_t rows,
                                      int64_t h) {
  VLV_KERNEL_LOOP(i, rows * h) {
    float g = load(gy, i);
    if (kind == VLV_CUDA_GEGLU) {
      int64_t r = i / h, j = i - r * h, ih = r * 2 * h + j, ig = ih + h;
      float hv = load(a, ih), gv = load(a, ig);
      store(ga, ih, g * act::apply(VLV_CUDA_ACT_GELU, gv));
      store(ga, ig, g * hv * act::grad(VLV_CUDA_ACT_GELU, gv));
    } else {
      float gate = load(a, i), up = load(b, i);
      if (ga) store(ga, i, g * up * act::grad(VLV_CUDA_ACT_SILU, gate));
      if (gb) store(gb, i, g * act::apply(VLV_CUDA_ACT_SILU, gate));
    }
  }
}
}  // namespace

int activation(int a, int dtype, int64_t n, const void* x, void* y) {
  if (int rc = device_ok()) return rc;
  if (n == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(dtype, T, {
    act_kernel<T><<<blocks_for(n, 256), 256, 0, stream()>>>(a, static_cast<const T*>(x), static_cast<T*>(y), n);
    return launched("activation");
  });
}

int activation_backward(int a, int dtype, int64_t n, const void* x, const void* gy, void* gx) {
  if (int rc = device_ok()) return rc;
  if (n == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(dtype, T, {
    act_backward_kernel<T><<<blocks_for(n, 256), 256, 0, stream()>>>(a, static_cast<const T*>(x),
                                                                     static_cast<const T*>(gy), static_cast<T*>(gx), n);
    return launched("activation_backward");
  });
}

int gated(int kind, int dtype, int64_t rows, int64_t h, const void* a, const void* b, void* y) {
  if (int rc = device_ok()) return rc;
  if (rows * h == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(dtype, T, {
    gated_kernel<T><<<blocks_for(rows * h, 256), 256, 0, stream()>>>(
        kind, static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(y), rows, h);
    return launched("gated");
  });
}

int gated_backward(int kind, int dtype, int64_t rows, int64_t h, const void* a, const void* b, const void* gy, void* ga,
                   void* gb) {
  if (int rc = device_ok()) return rc;
  if (rows * h == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(dtype, T, {
    gated_backward_kernel<T><<<blocks_for(rows * h, 256), 256, 0, stream()>>>(
        kind, static_cast<const T*>(a), static_cast<const T*>(b), static_cast<const T*>(gy), static_cast<T*>(ga),
        static_cast<T*>(gb), rows, h);
    return launched("gated_backward");
  });
}

}  // namespace vlv::cuda
