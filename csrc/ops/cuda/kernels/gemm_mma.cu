// The own GEMM kernels (row-major, batched and strided, C = act(alpha * op(A) op(B) + bias)):
//   * f32: a 64x64 tile per block of 256 threads, 4x4 outputs per thread, f32 FMA: the
//     same accumulation precision as the CPU (test tolerance 1e-5).
//   * bf16 / f16: tensor cores through mma.sync.m16n8k16 (f32 accumulation), a 128x128x32
//     tile per block of 8 warps (2 x 4), 64x32 per warp; tiles staged through padded shared
//     memory (row stride 40 halves: the 32-bit fragment loads hit 32 distinct banks).
// Both fuse the epilogue: bias, the pre-activation copy for the backward, the activation.
// Readable first: element loads into shared memory (no cp.async / ldmatrix / pipelining),
// so expect a fraction of cuBLAS; it serves when cuBLAS is absent. Not run on a GPU yet.
#include "ops/cuda/kernels/activation_math.cuh"
#include "ops/cuda/kernels/common.cuh"
#include "ops/cuda/kernels/gemm.h"
#include "ops/cuda/kernels/mma.cuh"

#include <type_traits>

namespace vlv::cuda {

namespace {
template <class T>
__device__ __forceinline__ float at(const T* p, int64_t ld, bool trans, int64_t r, int64_t c) {
  return load(p, trans ? c * ld + r : r * ld + c);
}

__device__ __forceinline__ float bias_at(const VlvCudaGemm& g, int64_t col) {
  if (!g.bias) return 0.f;
  switch (g.bias_dtype) {
    case VLV_CUDA_BF16: return load(static_cast<const __nv_bfloat16*>(g.bias), col);
    case VLV_CUDA_F16: return load(static_cast<const __half*>(g.bias), col);
    default: return load(static_cast<const float*>(g.bias), col);
  }
}

template <class C>
__device__ __forceinline__ void epilogue(const VlvCudaGemm& g, int64_t batch, int64_t r, int64_t c, float acc) {
  if (r >= g.m || c >= g.n) return;
  float v = acc * g.alpha + bias_at(g, c);
  int64_t i = batch * g.stride_c + r * g.ldc + c;
  if (g.pre_act) store(static_cast<C*>(g.pre_act), i, v);
  store(static_cast<C*>(g.c), i, act::apply(g.act, v));
}

template <class C>
__global__ void __launch_bounds__(256) gemm_f32_kernel(VlvCudaGemm g) {
  constexpr int BM = 64, BN = 64, BK = 16;
  __shared__ float As[BK][BM + 4], Bs[BK][BN + 4];
  const int64_t z = blockIdx.z, m0 = int64_t(blockIdx.y) * BM, n0 = int64_t(blockIdx.x) * BN;
  const float* A = static_cast<const float*>(g.a) + z * g.stride_a;
  const float* B = static_cast<const float*>(g.b) + z * g.stride_b;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < g.k; k0 += BK) {
    for (int e = threadIdx.x; e < BM * BK; e += 256) {
      int mi = e / BK, ki = e % BK;
      int64_t r = m0 + mi, k = k0 + ki;
      As[ki][mi] = (r < g.m && k < g.k) ? at(A, g.lda, g.trans_a, r, k) : 0.f;
      int ni = e % BN, kj = e / BN;
      int64_t c = n0 + ni, kk = k0 + kj;
      Bs[kj][ni] = (c < g.n && kk < g.k) ? at(B, g.ldb, g.trans_b, kk, c) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = As[k][ty * 4 + i];
#pragma unroll
      for (int j = 0; j < 4; ++j) b[j] = Bs[k][tx * 4 + j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) epilogue<C>(g, z, m0 + ty * 4 + i, n0 + tx * 4 + j, acc[i][j]);
}

template <class T, class C>
__global__ void __launch_bounds__(256) gemm_mma_kernel(VlvCudaGemm g) {
  constexpr int BM = 128, BN = 128, BK = 32, LD = BK + 8;
  __shared__ __align__(16) T As[BM][LD];  // As[m][k]
  __shared__ __align__(16) T Bs[BN][LD];  // Bs[n][k]: k contiguous, as the col-major B fragment wants
  const int64_t z = blockIdx.z, m0 = int64_t(blockIdx.y) * BM, n0 = int64_t(blockIdx.x) * BN;
  const T* A = static_cast<const T*>(g.a) + z * g.stride_a;
  const T* B = static_cast<const T*>(g.b) + z * g.stride_b;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, gid = lane / 4, tig = lane % 4;
  const int wm = (warp / 4) * 64, wn = (warp % 4) * 32;  // the warp's 64x32 tile
  float acc[4][4][4] = {};                               // [m16 tile][n8 tile][fragment]
  const T zero = T(0.f);
  static_assert(BK == 32, "block_mma_loop steps 32 deep");
  block_mma_loop<T, LD>(
      g.k,
      [&](int64_t k0) {
        for (int e = threadIdx.x; e < BM * BK; e += 256) {
          int mi = e / BK, ki = e % BK;
          int64_t r = m0 + mi, k = k0 + ki, c = n0 + mi;
          As[mi][ki] = (r < g.m && k < g.k) ? A[g.trans_a ? k * g.lda + r : r * g.lda + k] : zero;
          Bs[mi][ki] = (c < g.n && k < g.k) ? B[g.trans_b ? c * g.ldb + k : k * g.ldb + c] : zero;
        }
      },
      As, Bs, wm, wn, lane, acc);
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      int64_t r = m0 + wm + i * 16 + gid, c = n0 + wn + j * 8 + tig * 2;
      epilogue<C>(g, z, r, c, acc[i][j][0]);
      epilogue<C>(g, z, r, c + 1, acc[i][j][1]);
      epilogue<C>(g, z, r + 8, c, acc[i][j][2]);
      epilogue<C>(g, z, r + 8, c + 1, acc[i][j][3]);
    }
}

template <class C>
__global__ void epilogue_kernel(VlvCudaGemm g) {
  // After cuBLAS wrote alpha*AB into C: bias, pre-activation, activation in place.
  const int64_t per = g.m * g.n;
  VLV_KERNEL_LOOP(i, per * g.batch) {
    int64_t z = i / per, rc = i - z * per, r = rc / g.n, c = rc - r * g.n;
    float v = load(static_cast<const C*>(g.c), z * g.stride_c + r * g.ldc + c);
    VlvCudaGemm h = g;
    h.alpha = 1.f;
    epilogue<C>(h, z, r, c, v);
  }
}
}  // namespace

int gemm_own(const VlvCudaGemm& g) {
  if (g.batch > 65535) return set_error(VLV_CUDA_E_ARG, "gemm: batch over 65535");
  bool f32 = g.ab_dtype == VLV_CUDA_F32;
  int tile = f32 ? 64 : 128;
  dim3 grid(unsigned((g.n + tile - 1) / tile), unsigned((g.m + tile - 1) / tile), unsigned(g.batch));
  if (grid.y > 65535) return set_error(VLV_CUDA_E_ARG, "gemm: M too large for one launch");
  return VLV_FLOAT_SWITCH(g.c_dtype, C, {
    if (f32) gemm_f32_kernel<C><<<grid, 256, 0, stream()>>>(g);
    else if (g.ab_dtype == VLV_CUDA_BF16) gemm_mma_kernel<__nv_bfloat16, C><<<grid, 256, 0, stream()>>>(g);
    else if (g.ab_dtype == VLV_CUDA_F16) gemm_mma_kernel<__half, C><<<grid, 256, 0, stream()>>>(g);
    else return set_error(VLV_CUDA_E_ARG, "gemm: A and B must be f32, bf16 or f16");
    return launched("gemm (own kernel)");
  });
}

int gemm_epilogue(const VlvCudaGemm& g) {
  if (!g.bias && !g.pre_act && g.act == VLV_CUDA_ACT_NONE) return VLV_CUDA_OK;
  int64_t n = g.m * g.n * g.batch;
  return VLV_FLOAT_SWITCH(g.c_dtype, C, {
    epilogue_kernel<C><<<blocks_for(n, 256), 256, 0, stream()>>>(g);
    return launched("gemm epilogue");
  });
}

}  // namespace vlv::cuda
