// Normalisation, forward and backward: layer_norm and rms_norm over the last dim (one block
// per row), group_norm over (C/G channels x spatial) with optional fused SiLU after the
// affine (one block per (n, group)). Statistics in f32; mean/rstd kept for the backward;
// group_norm with y null computes only them (group_norm_conv2d's fused prologue, conv_igemm.cu).
// Weight/bias gradients are a second pass, one thread (norm) or block (group norm) per
// channel summing rows in order: deterministic, no atomics.
// Not measured on a GPU yet.
#include "cuda/kernels.h"
#include "ops/cuda/kernels/activation_math.cuh"
#include "ops/cuda/kernels/common.cuh"

namespace vlv::cuda {

namespace {
constexpr int kThreads = 256;

template <class T>
__device__ __forceinline__ float opt(const T* p, int64_t i, float fallback) {
  return p ? load(p, i) : fallback;
}

template <class T>
__global__ void norm_kernel(bool rms, const T* x, const T* w, const T* b, float eps, T* y, float* mean_out,
                            float* rstd_out, int64_t cols) {
  int64_t base = int64_t(blockIdx.x) * cols;
  float mean = 0.f;
  if (!rms) {
    float s = 0.f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += load(x, base + j);
    mean = block_sum(s) / float(cols);
  }
  float ss = 0.f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    float d = load(x, base + j) - mean;
    ss += d * d;
  }
  float rstd = rsqrtf(block_sum(ss) / float(cols) + eps);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
    store(y, base + j, (load(x, base + j) - mean) * rstd * opt(w, j, 1.f) + opt(b, j, 0.f));
  if (threadIdx.x == 0) {
    mean_out[blockIdx.x] = mean;
    rstd_out[blockIdx.x] = rstd;
  }
}

template <class T>
__global__ void norm_backward_kernel(bool rms, const T* x, const T* w, const float* mean, const float* rstd,
                                     const T* gy, T* gx, int64_t cols) {
  int64_t r = blockIdx.x, base = r * cols;
  float mu = mean[r], rs = rstd[r];
  float sg = 0.f, sgx = 0.f;  // sums of gxhat and gxhat * xhat
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    float g = load(gy, base + j) * opt(w, j, 1.f), xh = (load(x, base + j) - mu) * rs;
    sg += g;
    sgx += g * xh;
  }
  sg = block_sum(sg) / float(cols);
  sgx = block_sum(sgx) / float(cols);
  if (rms) sg = 0.f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    float g = load(gy, base + j) * opt(w, j, 1.f), xh = (load(x, base + j) - mu) * rs;
    store(gx, base + j, rs * (g - sg - xh * sgx));
  }
}

// gw[j] = sum_r gy * xhat, gb[j] = sum_r gy: one thread per column, rows in order.
template <class T>
__global__ void norm_param_grad_kernel(const T* x, const float* mean, const float* rstd, const T* gy, float* gw,
                                       float* gb, int64_t rows, int64_t cols) {
  VLV_KERNEL_LOOP(j, cols) {
    float sw = 0.f, sb = 0.f;
    for (int64_t r = 0; r < rows; ++r) {
      float g = load(gy, r * cols + j);
      sw += g * (load(x, r * cols + j) - mean[r]) * rstd[r];
      sb += g;
    }
    if (gw) gw[j] = sw;
    if (gb) gb[j] = sb;
  }
}

// Block (n, g) normalises channels [g*cg, (g+1)*cg) of sample n, each with hw elements.
template <class T>
__global__ void group_norm_kernel(const T* x, const T* w, const T* b, float eps, bool silu, T* y, float* mean_out,
                                  float* rstd_out, int64_t c, int64_t hw, int64_t groups) {
  int64_t ng = blockIdx.x, n = ng / groups, g = ng - n * groups, cg = c / groups, len = cg * hw;
  int64_t base = (n * c + g * cg) * hw;
  float s = 0.f;
  for (int64_t i = threadIdx.x; i < len; i += blockDim.x) s += load(x, base + i);
  float mean = block_sum(s) / float(len);
  float ss = 0.f;
  for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
    float d = load(x, base + i) - mean;
    ss += d * d;
  }
  float rstd = rsqrtf(block_sum(ss) / float(len) + eps);
  for (int64_t i = threadIdx.x; y && i < len; i += blockDim.x) {  // y null: statistics only
    int64_t ch = g * cg + i / hw;
    float v = (load(x, base + i) - mean) * rstd * opt(w, ch, 1.f) + opt(b, ch, 0.f);
    store(y, base + i, silu ? act::apply(VLV_CUDA_ACT_SILU, v) : v);
  }
  if (threadIdx.x == 0) {
    mean_out[ng] = mean;
    rstd_out[ng] = rstd;
  }
}

// The gradient reaching the affine output: gy, times silu'(z) when SiLU was fused.
template <class T>
__device__ __forceinline__ float gn_grad_pre(const T* x, const T* w, const T* b, const T* gy, bool silu, int64_t i,
                                             int64_t ch, float mu, float rs, float* xhat) {
  *xhat = (load(x, i) - mu) * rs;
  float g = load(gy, i);
  if (silu) g *= act::grad(VLV_CUDA_ACT_SILU, *xhat * opt(w, ch, 1.f) + opt(b, ch, 0.f));
  return g;
}

template <class T>
__global__ void group_norm_backward_kernel(const T* x, const T* w, const T* b, const float* mean, const float* rstd,
                                           bool silu, const T* gy, T* gx, int64_t c, int64_t hw, int64_t groups) {
  int64_t ng = blockIdx.x, n = ng / groups, g = ng - n * groups, cg = c / groups, len = cg * hw;
  int64_t base = (n * c + g * cg) * hw;
  float mu = mean[ng], rs = rstd[ng], sg = 0.f, sgx = 0.f, xh;
  for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
    int64_t ch = g * cg + i / hw;
    float gz = gn_grad_pre(x, w, b, gy, silu, base + i, ch, mu, rs, &xh) * opt(w, ch, 1.f);
    sg += gz;
    sgx += gz * xh;
  }
  sg = block_sum(sg) / float(len);
  sgx = block_sum(sgx) / float(len);
  for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
    int64_t ch = g * cg + i / hw;
    float gz = gn_grad_pre(x, w, b, gy, silu, base + i, ch, mu, rs, &xh) * opt(w, ch, 1.f);
    store(gx, base + i, rs * (gz - sg - xh * sgx));
  }
}

// Block ch: gw[ch] = sum over (n, hw) of grad_pre * xhat, gb[ch] = sum of grad_pre.
template <class T>
__global__ void group_norm_param_grad_kernel(const T* x, const T* w, const T* b, const float* mean, const float* rstd,
                                             bool silu, const T* gy, float* gw, float* gb, int64_t nb, int64_t c,
                                             int64_t hw, int64_t groups) {
  int64_t ch = blockIdx.x, g = ch / (c / groups);
  float sw = 0.f, sb = 0.f, xh;
  for (int64_t i = threadIdx.x; i < nb * hw; i += blockDim.x) {
    int64_t n = i / hw, k = i - n * hw, ng = n * groups + g;
    float gp = gn_grad_pre(x, w, b, gy, silu, (n * c + ch) * hw + k, ch, mean[ng], rstd[ng], &xh);
    sw += gp * xh;
    sb += gp;
  }
  sw = block_sum(sw);
  sb = block_sum(sb);
  if (threadIdx.x == 0) {
    if (gw) gw[ch] = sw;
    if (gb) gb[ch] = sb;
  }
}
}  // namespace

int norm(int rms, int dtype, int64_t rows, int64_t cols, const void* x, const void* w, const void* b, float eps,
         void* y, float* mean, float* rstd) {
  if (int rc = device_ok()) return rc;
  if (rows == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(dtype, T, {
    norm_kernel<T><<<unsigned(rows), kThreads, 0, stream()>>>(rms != 0, static_cast<const T*>(x),
                                                              static_cast<const T*>(w), static_cast<const T*>(b), eps,
                                                              static_cast<T*>(y), mean, rstd, cols);
    return launched("norm");
  });
}

int norm_backward(int rms, int dtype, int64_t rows, int64_t cols, const void* x, const void* w, const float* mean,
                  const float* rstd, const void* gy, void* gx, float* gw, float* gb) {
  if (int rc = device_ok()) return rc;
  if (rows == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(dtype, T, {
    auto X = static_cast<const T*>(x);
    auto GY = static_cast<const T*>(gy);
    if (gx) {
      norm_backward_kernel<T><<<unsigned(rows), kThreads, 0, stream()>>>(rms != 0, X, static_cast<const T*>(w), mean,
                                                                         rstd, GY, static_cast<T*>(gx), cols);
      if (int rc = launched("norm_backward")) return rc;
    }
    if (gw || gb) {
      norm_param_grad_kernel<T><<<blocks_for(cols, 128), 128, 0, stream()>>>(X, mean, rstd, GY, gw, gb, rows, cols);
      if (int rc = launched("norm_backward (weight)")) return rc;
    }
    return VLV_CUDA_OK;
  });
}

int group_norm(int dtype, int64_t n, int64_t c, int64_t hw, int64_t groups, const void* x, const void* w, const void* b,
               float eps, int silu, void* y, float* mean, float* rstd) {
  if (int rc = device_ok()) return rc;
  if (n * groups == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(dtype, T, {
    group_norm_kernel<T><<<unsigned(n * groups), kThreads, 0, stream()>>>(
        static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(b), eps, silu != 0,
        static_cast<T*>(y), mean, rstd, c, hw, groups);
    return launched("group_norm");
  });
}

int group_norm_backward(int dtype, int64_t n, int64_t c, int64_t hw, int64_t groups, const void* x, const void* w,
                        const void* b, const float* mean, const float* rstd, int silu, const void* gy, void* gx,
                        float* gw, float* gb) {
  if (int rc = device_ok()) return rc;
  if (n * groups == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(dtype, T, {
    auto X = static_cast<const T*>(x);
    auto W = static_cast<const T*>(w);
    auto B = static_cast<const T*>(b);
    auto GY = static_cast<const T*>(gy);
    if (gx) {
      group_norm_backward_kernel<T><<<unsigned(n * groups), kThreads, 0, stream()>>>(
          X, W, B, mean, rstd, silu != 0, GY, static_cast<T*>(gx), c, hw, groups);
      if (int rc = launched("group_norm_backward")) return rc;
    }
    if (gw || gb) {
      group_norm_param_grad_kernel<T>
          <<<unsigned(c), kThreads, 0, stream()>>>(X, W, B, mean, rstd, silu != 0, GY, gw, gb, n, c, hw, groups);
      if (int rc = launched("group_norm_backward (weight)")) return rc;
    }
    return VLV_CUDA_OK;
  });
}

}  // namespace vlv::cuda
