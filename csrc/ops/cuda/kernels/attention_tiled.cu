// attention_tiled: the tensor-core (mma.sync m16n8k16, f32 accumulation) fused attention,
// FlashAttention-2 style, for bf16 / f16 with d == dv in {64, 80, 128}; attention.cu uses it
// when attention_tiled_eligible() says so and keeps its row kernels for everything else (and
// for VLV_ATTENTION=rows). The algorithm — forward with online softmax over 64-key tiles,
// backward as a dQ kernel over query blocks and a dK/dV kernel over key blocks, no atomics,
// deterministic — is in attention_tiles.h, shared with the host test that emulates it lane
// by lane (csrc/cuda/test/attention_tiles_host_test.cc). This file is the device side of it:
// the execution policy (mma.sync, quad shuffles, cp.async, __syncthreads), the kernels (one
// block of 4 warps, 128 threads; K/V or Q/dO tiles in static shared memory, at most 34 KiB)
// and their launches.
// Readable first: fragments are read from shared memory with 32-bit loads (16-bit pairs for
// the transposed operand), no ldmatrix, no double buffering beyond the forward's K-then-V
// cp.async groups. ptxas (sm_80) reports 161-224 registers for the forward, 165-240 for dQ,
// 206-255 for dK/dV, whose d = 128 variant spills 172 bytes (K and V fragments and both
// accumulators stay in registers): a shared-memory K/V there is the next step if it shows.
// It has not run on a GPU yet: no timing measured, and its correctness on
// hardware rests on the host emulation and on test-gpu/ops.test.ts when a GPU runs it.
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "ops/cuda/kernels/attention_tiled.h"
#include "ops/cuda/kernels/attention_tiles.h"
#include "ops/cuda/kernels/common.cuh"
#include "ops/cuda/kernels/mma.cuh"

namespace vlv::cuda {

namespace {
using tiles::Bf16;
using tiles::F16;

// The device execution policy of attention_tiles.h: each thread holds its own lane.
// (__host__ __device__ so the templates' host instantiations compile; only the device runs.)
struct DeviceExec {
  static constexpr int kLanes = 1;
  static constexpr unsigned kFull = 0xffffffffu;
  __host__ __device__ static int lane(int) {
#if defined(__CUDA_ARCH__)
    return int(threadIdx.x & 31);
#else
    return 0;
#endif
  }
  template <class Dt>
  __host__ __device__ static void mma(tiles::FragC<DeviceExec>& d, const tiles::FragA<DeviceExec>& fa,
                                      const tiles::FragB<DeviceExec>& fb) {
#if defined(__CUDA_ARCH__)
    mma16816<typename std::conditional<std::is_same<Dt, Bf16>::value, __nv_bfloat16, __half>::type>(d.v[0], fa.v[0],
                                                                                                    fb.v[0]);
#endif
  }
  // Over the 4 lanes of a row group (lane ^ 1, then lane ^ 2), own value first.
  template <class Op>
  __host__ __device__ static void quad(tiles::RowVal<DeviceExec>& x, Op op) {
#if defined(__CUDA_ARCH__)
#pragma unroll
    for (int r = 0; r < 2; ++r)
      for (int m = 1; m <= 2; m <<= 1) x.v[0][r] = op(x.v[0][r], __shfl_xor_sync(kFull, x.v[0][r], m));
#endif
  }
  __host__ __device__ static void quad_max(tiles::RowVal<DeviceExec>& x) {
    quad(x, [](float p, float q) { return fmaxf(p, q); });
  }
  __host__ __device__ static void quad_sum(tiles::RowVal<DeviceExec>& x) {
    quad(x, [](float p, float q) { return p + q; });
  }
  __host__ __device__ static void copy16(void* dst, const void* src) {
#if defined(__CUDA_ARCH__)
    const unsigned s = unsigned(__cvta_generic_to_shared(dst));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(src));
#endif
  }
  __host__ __device__ static void commit() {
#if defined(__CUDA_ARCH__)
    asm volatile("cp.async.commit_group;\n" ::);
#endif
  }
  __host__ __device__ static void wait_one() {
#if defined(__CUDA_ARCH__)
    asm volatile("cp.async.wait_group 1;\n" ::);
#endif
  }
  __host__ __device__ static void wait_all() {
#if defined(__CUDA_ARCH__)
    asm volatile("cp.async.wait_group 0;\n" ::);
#endif
  }
  __host__ __device__ static void sync() {
#if defined(__CUDA_ARCH__)
    __syncthreads();
#endif
  }
  template <class F>
  __host__ __device__ static void each_thread(F f) {
#if defined(__CUDA_ARCH__)
    f(int(threadIdx.x));
#endif
  }
  template <class W, class F>
  __host__ __device__ static void each_warp(W* w, F f) {
#if defined(__CUDA_ARCH__)
    f(w[0], int(threadIdx.x >> 5));
#endif
  }
};

template <class Dt, int D>
__global__ void __launch_bounds__(tiles::kThreads) forward_kernel(VlvCudaAttention a, uint16_t* out, float* lse) {
  __shared__ __align__(16) tiles::FwdSmem<D> sm;
  tiles::FwdWarp<DeviceExec, Dt, D> w;
  tiles::forward_block<DeviceExec, Dt, D>(a, blockIdx.y, int64_t(blockIdx.x) * tiles::kFwdQ, sm, &w, out, lse);
}

template <class Dt, int D>
__global__ void __launch_bounds__(tiles::kThreads)
    dq_kernel(VlvCudaAttention a, const float* lse, const float* di, const uint16_t* go, uint16_t* gq) {
  __shared__ __align__(16) tiles::DqSmem<D> sm;
  tiles::DqWarp<DeviceExec, Dt, D> w;
  tiles::dq_block<DeviceExec, Dt, D>(a, blockIdx.y, int64_t(blockIdx.x) * tiles::kDqQ, sm, &w, lse, di, go, gq);
}

template <class Dt, int D>
__global__ void __launch_bounds__(tiles::kThreads)
    dkv_kernel(VlvCudaAttention a, const float* lse, const float* di, const uint16_t* go, uint16_t* gk, uint16_t* gv) {
  __shared__ __align__(16) tiles::KvSmem<D> sm;
  tiles::KvWarp<DeviceExec, Dt, D> w;
  tiles::dkv_block<DeviceExec, Dt, D>(a, blockIdx.y, int64_t(blockIdx.x) * tiles::kKvK, sm, &w, lse, di, go, gk, gv);
}

// Runs BODY with Dt and D bound to the call's 16-bit type and head dim.
#define VLV_TILED_SWITCH(a, ...)                                                                                       \
  [&]() -> int {                                                                                                       \
    auto by_dim = [&](auto dt) -> int {                                                                                \
      using Dt = decltype(dt);                                                                                         \
      switch ((a)->d) {                                                                                                \
        case 64: {                                                                                                     \
          constexpr int D = 64;                                                                                        \
          __VA_ARGS__;                                                                                                 \
        }                                                                                                              \
        case 80: {                                                                                                     \
          constexpr int D = 80;                                                                                        \
          __VA_ARGS__;                                                                                                 \
        }                                                                                                              \
        case 128: {                                                                                                    \
          constexpr int D = 128;                                                                                       \
          __VA_ARGS__;                                                                                                 \
        }                                                                                                              \
        default: return set_error(VLV_CUDA_E_ARG, "attention (tiled): head dim not 64, 80 or 128");                    \
      }                                                                                                                \
    };                                                                                                                 \
    return (a)->dtype == VLV_CUDA_BF16 ? by_dim(Bf16{}) : by_dim(F16{});                                               \
  }()

unsigned blocks_of(int64_t n, int per) { return unsigned((n + per - 1) / per); }
}  // namespace

bool attention_tiled_eligible(const VlvCudaAttention* a, const void* const* ptrs, int n) {
  const char* env = std::getenv("VLV_ATTENTION");
  if (env && std::strcmp(env, "rows") == 0) return false;
  if (a->dtype != VLV_CUDA_BF16 && a->dtype != VLV_CUDA_F16) return false;
  if (a->d != a->dv || (a->d != 64 && a->d != 80 && a->d != 128)) return false;
  if (a->b * a->hq > 65535 || a->b * a->hkv > 65535 || a->lq > (int64_t(1) << 30) || a->lk > (int64_t(1) << 30))
    return false;
  for (int i = 0; i < n; ++i)
    if (reinterpret_cast<uintptr_t>(ptrs[i]) % 16 != 0) return false;  // cp.async moves 16 bytes
  return true;
}

int attention_tiled_forward(const VlvCudaAttention* a, void* out, float* lse) {
  if (a->b * a->hq * a->lq == 0) return VLV_CUDA_OK;
  return VLV_TILED_SWITCH(a, {
    const dim3 grid(blocks_of(a->lq, tiles::kFwdQ), unsigned(a->b * a->hq));
    forward_kernel<Dt, D><<<grid, tiles::kThreads, 0, stream()>>>(*a, static_cast<uint16_t*>(out), lse);
    return launched("attention (tiled)");
  });
}

int attention_tiled_backward(const VlvCudaAttention* a, const float* lse, const float* di, const void* gout, void* gq,
                             void* gk, void* gv) {
  const uint16_t* go = static_cast<const uint16_t*>(gout);
  return VLV_TILED_SWITCH(a, {
    if (a->b * a->hq * a->lq > 0) {
      const dim3 grid(blocks_of(a->lq, tiles::kDqQ), unsigned(a->b * a->hq));
      dq_kernel<Dt, D><<<grid, tiles::kThreads, 0, stream()>>>(*a, lse, di, go, static_cast<uint16_t*>(gq));
      if (int rc = launched("attention backward (tiled dq)")) return rc;
    }
    if (a->b * a->hkv * a->lk > 0) {
      const dim3 grid(blocks_of(a->lk, tiles::kKvK), unsigned(a->b * a->hkv));
      dkv_kernel<Dt, D><<<grid, tiles::kThreads, 0, stream()>>>(*a, lse, di, go, static_cast<uint16_t*>(gk),
                                                                static_cast<uint16_t*>(gv));
      if (int rc = launched("attention backward (tiled dk, dv)")) return rc;
    }
    return VLV_CUDA_OK;
  });
}

}  // namespace vlv::cuda
