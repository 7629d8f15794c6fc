// attention: fused scaled-dot-product attention on CUDA, forward and backward, never
// materialising the [Lq, Lk] score matrix (ops.h: attention; the CPU kernel
// csrc/ops/cpu/attention.cc is the reference behaviour).
//   out = softmax(scale * q k^T + mask) v, lse = logsumexp of the same scores.
// Correct first version, general head dims (d, dv <= 256), f32 / bf16 / f16 data with f32
// arithmetic: one warp per output row, the row's head-dim vector spread over the lanes
// (kPer registers each), keys streamed from global memory (L1/L2 serve the reuse between the
// warps of a block, which work on neighbouring rows of one head). The row loops are in
// attention_rows.h, shared with the host test that checks them on the CPU.
//   Forward: warp per query row; online softmax over the visible keys (running max m and
//     sum l), so one pass; lse = m + log(l); a row that sees no key gives out = 0, lse = -inf.
//   Backward (FlashAttention-2's recomputation): Di = rowsum(dO * O) per query row; then
//     dQ: warp per query row, P recomputed from lse, dS = P (dO.V - Di), dQ = scale dS K;
//     dK, dV: warp per (batch, kv head, key), summing over every query head of its group and
//     every query in a fixed order: dV = P^T dO, dK = scale dS^T Q. Each output row belongs to
//     one warp: no atomics, deterministic.
// GQA reads the shared kv head in place; causal is bottom-right aligned (query i sees keys
// j <= i + lk - lq) and cuts the key (dQ) or query (dK/dV) loops short.
// These row kernels are the general path. bf16 / f16 with d == dv in {64, 80, 128} go to the
// tensor-core kernels of attention_tiled.cu (FlashAttention-2 tiles, mma.sync) unless the
// environment says VLV_ATTENTION=rows (read at each call); the backward's Di kernel is shared.
// Not run on a GPU yet: no timing measured.
#include "cuda/kernels.h"
#include "ops/cuda/kernels/attention_rows.h"
#include "ops/cuda/kernels/attention_tiled.h"
#include "ops/cuda/kernels/common.cuh"

namespace vlv::cuda {

namespace {
constexpr int kMaxD = 256;
constexpr int kPer = kMaxD / 32;  // head-dim elements per lane
constexpr int kWarps = 8;         // warps (rows) per block
constexpr unsigned kFull = 0xffffffffu;

// One head-dim row spread over the lanes of a warp: element d in lane d % 32, slot d / 32.
template <class T>
struct LaneVec {
  float r[kPer];
  int lane;
  __device__ explicit LaneVec(int l) : lane(l) {}
  __device__ __forceinline__ void load(const T* p, int64_t n) {
#pragma unroll
    for (int t = 0; t < kPer; ++t) {
      const int64_t d = lane + 32 * t;
      r[t] = d < n ? ::vlv::cuda::load(p, d) : 0.f;
    }
  }
  __device__ __forceinline__ void zero() {
#pragma unroll
    for (int t = 0; t < kPer; ++t) r[t] = 0.f;
  }
  __device__ __forceinline__ void scale(float s) {
#pragma unroll
    for (int t = 0; t < kPer; ++t) r[t] *= s;
  }
  // Lane 0's sum broadcast: the lanes of a butterfly may round differently.
  __device__ __forceinline__ float dot(const T* p, int64_t n) const {
    float s = 0.f;
#pragma unroll
    for (int t = 0; t < kPer; ++t) {
      const int64_t d = lane + 32 * t;
      if (d < n) s = fmaf(r[t], ::vlv::cuda::load(p, d), s);
    }
    return __shfl_sync(kFull, warp_sum(s), 0);
  }
  __device__ __forceinline__ void axpy(float a, const T* p, int64_t n) {
#pragma unroll
    for (int t = 0; t < kPer; ++t) {
      const int64_t d = lane + 32 * t;
      if (d < n) r[t] = fmaf(a, ::vlv::cuda::load(p, d), r[t]);
    }
  }
  __device__ __forceinline__ void store(T* p, int64_t n, float s) const {
#pragma unroll
    for (int t = 0; t < kPer; ++t) {
      const int64_t d = lane + 32 * t;
      if (d < n) ::vlv::cuda::store(p, d, r[t] * s);
    }
  }
  __device__ __forceinline__ bool leader() const { return lane == 0; }
};

__device__ __forceinline__ int64_t warp_index() { return int64_t(blockIdx.x) * kWarps + (threadIdx.x >> 5); }

template <class T>
__global__ void forward_kernel(VlvCudaAttention a, T* out, float* lse) {
  const int64_t row = warp_index();
  if (row >= a.b * a.hq * a.lq) return;
  LaneVec<T> q(threadIdx.x & 31), acc(threadIdx.x & 31);
  attn::forward_row(a, row, q, acc, out, lse);
}

template <class T>
__global__ void rowdot_kernel(int64_t rows, int64_t dv, const T* o, const T* go, float* di) {
  const int64_t row = warp_index();
  if (row >= rows) return;
  LaneVec<T> g(threadIdx.x & 31);
  attn::rowdot_row(row, dv, o, go, g, di);
}

template <class T>
__global__ void dq_kernel(VlvCudaAttention a, const float* lse, const float* di, const T* go, T* gq) {
  const int64_t row = warp_index();
  if (row >= a.b * a.hq * a.lq) return;
  LaneVec<T> q(threadIdx.x & 31), g(threadIdx.x & 31), acc(threadIdx.x & 31);
  attn::dq_row(a, row, lse, di, go, q, g, acc, gq);
}

template <class T>
__global__ void dkv_kernel(VlvCudaAttention a, const float* lse, const float* di, const T* go, T* gk, T* gv) {
  const int64_t key = warp_index();
  if (key >= a.b * a.hkv * a.lk) return;
  const int lane = threadIdx.x & 31;
  LaneVec<T> k(lane), v(lane), dk(lane), dv(lane);
  attn::dkv_row(a, key, lse, di, go, k, v, dk, dv, gk, gv);
}

int check_args(const VlvCudaAttention* a, const char* op) {
  if (a->d < 1 || a->d > kMaxD || a->dv < 1 || a->dv > kMaxD)
    return set_error(VLV_CUDA_E_ARG, std::string(op) + ": head dims must be in [1, 256] on CUDA, got d=" +
                                         std::to_string(a->d) + " dv=" + std::to_string(a->dv));
  if (a->hkv < 1 || a->hq % a->hkv != 0)
    return set_error(VLV_CUDA_E_ARG, std::string(op) + ": query heads must be a multiple of kv heads");
  if (a->mask && a->mask_dtype != VLV_CUDA_BOOL && a->mask_dtype != VLV_CUDA_F32)
    return set_error(VLV_CUDA_E_ARG, std::string(op) + ": mask must be bool or f32");
  const int64_t rows =
      (a->b * (a->hq > a->hkv ? a->hq : a->hkv) * (a->lq > a->lk ? a->lq : a->lk) + kWarps - 1) / kWarps;
  if (rows > INT32_MAX) return set_error(VLV_CUDA_E_ARG, std::string(op) + ": too many rows for one launch");
  return VLV_CUDA_OK;
}

unsigned row_blocks(int64_t rows) { return unsigned((rows + kWarps - 1) / kWarps); }
}  // namespace

int attention(const VlvCudaAttention* a, void* out, float* lse) {
  if (int rc = device_ok()) return rc;
  if (int rc = check_args(a, "attention")) return rc;
  const int64_t rows = a->b * a->hq * a->lq;
  if (rows == 0) return VLV_CUDA_OK;
  const void* ptrs[] = {a->q, a->k, a->v, out};
  if (attention_tiled_eligible(a, ptrs, 4)) return attention_tiled_forward(a, out, lse);
  return VLV_FLOAT_SWITCH(a->dtype, T, {
    forward_kernel<T><<<row_blocks(rows), kWarps * 32, 0, stream()>>>(*a, static_cast<T*>(out), lse);
    return launched("attention");
  });
}

int attention_backward(const VlvCudaAttention* a, const void* out, const float* lse, const void* gout, void* gq,
                       void* gk, void* gv) {
  if (int rc = device_ok()) return rc;
  if (int rc = check_args(a, "attention backward")) return rc;
  const int64_t rows = a->b * a->hq * a->lq, keys = a->b * a->hkv * a->lk;
  Scratch di(size_t(rows > 0 ? rows : 1) * sizeof(float));
  if (di.status()) return di.status();
  float* d = static_cast<float*>(di.get());
  return VLV_FLOAT_SWITCH(a->dtype, T, {
    const T* go = static_cast<const T*>(gout);
    if (rows > 0) {
      rowdot_kernel<T><<<row_blocks(rows), kWarps * 32, 0, stream()>>>(rows, a->dv, static_cast<const T*>(out), go, d);
      if (int rc = launched("attention backward (rowsum dO*O)")) return rc;
    }
    const void* ptrs[] = {a->q, a->k, a->v, gout, gq, gk, gv};
    if (attention_tiled_eligible(a, ptrs, 7)) return attention_tiled_backward(a, lse, d, gout, gq, gk, gv);
    if (rows > 0) {
      dq_kernel<T><<<row_blocks(rows), kWarps * 32, 0, stream()>>>(*a, lse, d, go, static_cast<T*>(gq));
      if (int rc = launched("attention backward (dq)")) return rc;
    }
    if (keys > 0) {
      dkv_kernel<T>
          <<<row_blocks(keys), kWarps * 32, 0, stream()>>>(*a, lse, d, go, static_cast<T*>(gk), static_cast<T*>(gv));
      if (int rc = launched("attention backward (dk, dv)")) return rc;
    }
    return VLV_CUDA_OK;
  });
}

}  // namespace vlv::cuda
