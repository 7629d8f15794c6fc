// Optimisation, in place: AdamW as one multi-tensor launch (up to 16 tensors per launch,
// chunks of 4096 elements; the CPU's f32 formulas and constants, so the same bits up to
// sqrt/div rounding, which CUDA does correctly rounded too), and clip_grad_norm (squares
// summed in double per 4096-element block, partials summed in a fixed order on one block,
// then every tensor scaled by min(1, max_norm / (norm + 1e-6)) read on the device: no host
// round trip). Not run on a GPU yet.
#include <cmath>
#include <vector>

#include "cuda/kernels.h"
#include "ops/cuda/kernels/common.cuh"

namespace vlv::cuda {

namespace {
constexpr int kMaxTensors = 16, kChunk = 4096, kThreads = 256;

struct Pack {
  int count;
  void* p[kMaxTensors][4];
  int64_t n[kMaxTensors];
  int dtype[kMaxTensors];
  int64_t first_block[kMaxTensors + 1];  // block prefix: tensor t owns [first_block[t], first_block[t+1])
};

struct AdamConst {
  float decay, b1, b2, one_b1, one_b2, eps, step_size, bc2_sqrt;
};

__device__ __forceinline__ int tensor_of(const Pack& pk, int64_t blk) {
  int t = 0;
  while (blk >= pk.first_block[t + 1]) ++t;
  return t;
}

template <class T>
__device__ void adam_chunk(T* p, const T* g, float* m, float* v, int64_t begin, int64_t end, const AdamConst& c) {
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    float gi = load(g, i);
    float mi = m[i] * c.b1 + gi * c.one_b1;
    float vi = v[i] * c.b2 + gi * gi * c.one_b2;
    float denom = sqrtf(vi) / c.bc2_sqrt + c.eps;
    store(p, i, load(p, i) * c.decay - c.step_size * (mi / denom));
    m[i] = mi;
    v[i] = vi;
  }
}

__global__ void adamw_kernel(Pack pk, AdamConst c) {
  int t = tensor_of(pk, blockIdx.x);
  int64_t begin = (blockIdx.x - pk.first_block[t]) * kChunk, end = min(pk.n[t], begin + kChunk);
  float* m = static_cast<float*>(pk.p[t][2]);
  float* v = static_cast<float*>(pk.p[t][3]);
  switch (pk.dtype[t]) {
    case VLV_CUDA_BF16:
      adam_chunk(static_cast<__nv_bfloat16*>(pk.p[t][0]), static_cast<const __nv_bfloat16*>(pk.p[t][1]), m, v, begin,
                 end, c);
      break;
    case VLV_CUDA_F16:
      adam_chunk(static_cast<__half*>(pk.p[t][0]), static_cast<const __half*>(pk.p[t][1]), m, v, begin, end, c);
      break;
    default: adam_chunk(static_cast<float*>(pk.p[t][0]), static_cast<const float*>(pk.p[t][1]), m, v, begin, end, c);
  }
}

template <class T>
__device__ double sumsq_chunk(const T* x, int64_t begin, int64_t end) {
  double s = 0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    double v = load(x, i);
    s += v * v;
  }
  return s;
}

// Fixed-order double sum over the block.
__device__ double block_sum_d(double v) {
  __shared__ double part[kThreads];
  part[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
    __syncthreads();
  }
  double r = part[0];
  __syncthreads();
  return r;
}

__global__ void sumsq_kernel(Pack pk, double* partial) {
  int t = tensor_of(pk, blockIdx.x);
  int64_t begin = (blockIdx.x - pk.first_block[t]) * kChunk, end = min(pk.n[t], begin + kChunk);
  double s;
  switch (pk.dtype[t]) {
    case VLV_CUDA_BF16: s = sumsq_chunk(static_cast<const __nv_bfloat16*>(pk.p[t][0]), begin, end); break;
    case VLV_CUDA_F16: s = sumsq_chunk(static_cast<const __half*>(pk.p[t][0]), begin, end); break;
    default: s = sumsq_chunk(static_cast<const float*>(pk.p[t][0]), begin, end);
  }
  s = block_sum_d(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// partial[0..n) summed in order of a fixed tree; norm = sqrt of the sum.
__global__ void finish_norm_kernel(const double* partial, int64_t n, float* norm, double* total_out) {
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += partial[i];
  s = block_sum_d(s);
  if (threadIdx.x == 0) {
    *total_out = sqrt(s);
    *norm = float(sqrt(s));
  }
}

template <class T>
__device__ void scale_chunk(T* x, int64_t begin, int64_t end, float c) {
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) store(x, i, load(x, i) * c);
}

__global__ void clip_scale_kernel(Pack pk, const double* total, double max_norm) {
  double coef = max_norm / (*total + 1e-6);
  if (coef >= 1.0) return;  // a NaN norm scales (propagates), as in torch
  int t = tensor_of(pk, blockIdx.x);
  int64_t begin = (blockIdx.x - pk.first_block[t]) * kChunk, end = min(pk.n[t], begin + kChunk);
  float c = float(coef);
  switch (pk.dtype[t]) {
    case VLV_CUDA_BF16: scale_chunk(static_cast<__nv_bfloat16*>(pk.p[t][0]), begin, end, c); break;
    case VLV_CUDA_F16: scale_chunk(static_cast<__half*>(pk.p[t][0]), begin, end, c); break;
    default: scale_chunk(static_cast<float*>(pk.p[t][0]), begin, end, c);
  }
}

// Packs tensors [from, from + count) into launches of at most kMaxTensors.
std::vector<Pack> packs(int count, const VlvCudaMulti* t) {
  std::vector<Pack> out;
  for (int i = 0; i < count; i += kMaxTensors) {
    Pack pk{};
    pk.count = std::min(kMaxTensors, count - i);
    for (int k = 0; k < pk.count; ++k) {
      for (int j = 0; j < 4; ++j) pk.p[k][j] = t[i + k].p[j];
      pk.n[k] = t[i + k].n;
      pk.dtype[k] = t[i + k].dtype;
      pk.first_block[k + 1] = pk.first_block[k] + (t[i + k].n + kChunk - 1) / kChunk;
    }
    for (int k = pk.count; k < kMaxTensors; ++k) pk.first_block[k + 1] = pk.first_block[k];
    out.push_back(pk);
  }
  return out;
}
}  // namespace

int adamw(int count, const VlvCudaMulti* t, double lr, double b1, double b2, double eps, double wd, int64_t step) {
  if (int rc = device_ok()) return rc;
  AdamConst c{float(1.0 - lr * wd),
              float(b1),
              float(b2),
              float(1.0 - b1),
              float(1.0 - b2),
              float(eps),
              float(lr / (1.0 - std::pow(b1, double(step)))),
              float(std::sqrt(1.0 - std::pow(b2, double(step))))};
  for (const Pack& pk : packs(count, t)) {
    int64_t blocks = pk.first_block[kMaxTensors];
    if (blocks == 0) continue;
    adamw_kernel<<<unsigned(blocks), kThreads, 0, stream()>>>(pk, c);
    if (int rc = launched("adamw")) return rc;
  }
  return VLV_CUDA_OK;
}

int clip_grad_norm(int count, const VlvCudaMulti* t, double max_norm, float* norm) {
  if (int rc = device_ok()) return rc;
  std::vector<Pack> ps = packs(count, t);
  int64_t total_blocks = 0;
  for (const Pack& pk : ps) total_blocks += pk.first_block[kMaxTensors];
  Scratch scratch(size_t(total_blocks + 1) * sizeof(double));
  if (scratch.status()) return scratch.status();
  auto* partial = static_cast<double*>(scratch.get());
  double* total = partial + total_blocks;
  int64_t at = 0;
  for (const Pack& pk : ps) {
    int64_t blocks = pk.first_block[kMaxTensors];
    if (blocks == 0) continue;
    sumsq_kernel<<<unsigned(blocks), kThreads, 0, stream()>>>(pk, partial + at);
    if (int rc = launched("clip_grad_norm (sum of squares)")) return rc;
    at += blocks;
  }
  finish_norm_kernel<<<1, kThreads, 0, stream()>>>(partial, total_blocks, norm, total);
  if (int rc = launched("clip_grad_norm (norm)")) return rc;
  for (const Pack& pk : ps) {
    int64_t blocks = pk.first_block[kMaxTensors];
    if (blocks == 0) continue;
    clip_scale_kernel<<<unsigned(blocks), kThreads, 0, stream()>>>(pk, total, max_norm);
    if (int rc = launched("clip_grad_norm (scale)")) return rc;
  }
  return VLV_CUDA_OK;
}

}  // namespace vlv::cuda
