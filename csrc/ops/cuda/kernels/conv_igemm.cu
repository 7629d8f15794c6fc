// conv2d as an implicit GEMM on tensor cores (bf16 / f16 data, f32 accumulation,
// mma.sync.m16n8k16), NCHW, groups == 1, any kh x kw, stride, padding:
//   forward  y[n,co,p] = bias[co] + sum_k w[co,k] * pro(im2col(x))[k, n*P + p]: the B tile is
//            gathered from x into shared memory as it is needed (col is never materialised),
//            through an optional per-(image, channel) prologue silu?(v*scale + shift): the
//            fused group norm + SiLU of the UNet resnet block (scale/shift from the existing
//            group_norm kernel's mean/rstd, gn_scale_shift below);
//   dgrad    gx = the data gradient as the same GEMM over the transposed taps (gy gathered).
// Every output element is one thread's accumulation in a fixed k order: deterministic.
// The index maps, tile loaders and epilogue are conv_igemm.h's, the warp step mma.cuh's
// (fragment maps: mma_frag.h, shared with the part-1 GEMM); csrc/cuda/test/kernels_host_test.cc
// runs them on the host (mma emulated) against a float64 convolution.
// Readable first: element-wise gathers through taps / pixels decomposed once per tile (no
// cp.async / ldmatrix / double buffering, one k tile in flight). ptxas (sm_80): 128
// registers, no spills, 25 KiB shared: two blocks per SM. A register prefetch of the next
// k slice was tried and dropped: 255 registers with spills, one block per SM (unmeasured).
// NOT RUN ON A GPU: compiled only; test-gpu/ops.test.ts and bench/conv-gpu.bench.ts hold its
// checks and its measurement for a GPU machine.
#include "cuda/kernels.h"
#include "ops/cuda/kernels/common.cuh"
#include "ops/cuda/kernels/conv_igemm.h"
#include "ops/cuda/kernels/mma.cuh"

namespace vlv::cuda {

namespace {
using namespace igemm;

template <class Map, class T>
__global__ void __launch_bounds__(kThreads) igemm_kernel(Map mp, const T* __restrict__ a, const T* __restrict__ b,
                                                         const T* __restrict__ bias, T* __restrict__ y) {
  __shared__ __align__(16) T As[BM][LDS];
  __shared__ __align__(16) T Bs[BN][LDS];
  __shared__ conv::Pixel px[BN];
  __shared__ conv::Tap taps[BK];
  const int64_t m0 = int64_t(blockIdx.y) * BM, n0 = int64_t(blockIdx.x) * BN;
  const int tid = int(threadIdx.x), warp = tid / 32, lane = tid % 32, wm = warp_m(warp), wn = warp_n(warp);
  float acc[4][4][4] = {};  // [m16 tile][n8 tile][accumulator]
  stage_pixels(mp, n0, tid, px);
  static_assert(BK == 32, "block_mma_loop steps 32 deep");
  block_mma_loop<T, LDS>(
      mp.k(),
      [&](int64_t k0) {
        stage_taps(mp, k0, tid, taps);
        __syncthreads();
        load_tiles(mp, a, b, m0, n0, k0, tid, taps, px, As, Bs);
      },
      As, Bs, wm, wn, lane, acc);
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r)
        store_out(mp, y, bias, m0 + wm + i * 16 + frag_c_row(lane, r), n0, wn + j * 8 + frag_c_col(lane, r), px,
                  acc[i][j][r]);
}

template <class T>
__global__ void gn_scale_shift_kernel(int64_t rows, int64_t c, int64_t groups, const float* mean, const float* rstd,
                                      const T* gamma, const T* beta, float* scale, float* shift) {
  VLV_KERNEL_LOOP(i, rows) gn_scale_shift(i, c, groups, mean, rstd, gamma, beta, scale, shift);
}

template <class Map>
int launch(const Map& mp, int dtype, const void* a, const void* b, const void* bias, void* y, const char* what) {
  if (int rc = device_ok()) return rc;
  if (mp.c.groups != 1) return set_error(VLV_CUDA_E_ARG, std::string(what) + ": groups must be 1");
  if (mp.m() == 0 || mp.n() == 0) return VLV_CUDA_OK;
  const int64_t gx = (mp.n() + BN - 1) / BN, gy = (mp.m() + BM - 1) / BM;
  if (gx > 0x7fffffff || gy > 65535) return set_error(VLV_CUDA_E_ARG, std::string(what) + ": too large for one launch");
  const dim3 grid{unsigned(gx), unsigned(gy)};
  switch (dtype) {
    case VLV_CUDA_BF16:
      igemm_kernel<Map, __nv_bfloat16><<<grid, kThreads, 0, stream()>>>(
          mp, static_cast<const __nv_bfloat16*>(a), static_cast<const __nv_bfloat16*>(b),
          static_cast<const __nv_bfloat16*>(bias), static_cast<__nv_bfloat16*>(y));
      break;
    case VLV_CUDA_F16:
      igemm_kernel<Map, __half>
          <<<grid, kThreads, 0, stream()>>>(mp, static_cast<const __half*>(a), static_cast<const __half*>(b),
                                            static_cast<const __half*>(bias), static_cast<__half*>(y));
      break;
    default: return set_error(VLV_CUDA_E_ARG, std::string(what) + ": the implicit GEMM takes bf16 or f16 data");
  }
  return launched(what);
}
}  // namespace

int conv2d_igemm(const VlvCudaConv* c, const void* x, const void* w, const void* bias, const float* in_scale,
                 const float* in_shift, int in_silu, void* y) {
  if (!in_scale != !in_shift)
    return set_error(VLV_CUDA_E_ARG, "conv2d (implicit GEMM): in_scale and in_shift go together");
  // The GEMM's A operand is the weight, B is x gathered.
  return launch(Fwd{*c, in_scale, in_shift, in_silu}, c->dtype, w, x, bias, y, "conv2d (implicit GEMM)");
}

int conv2d_igemm_dgrad(const VlvCudaConv* c, const void* gy, const void* w, void* gx) {
  return launch(Dgrad{*c}, c->dtype, w, gy, nullptr, gx, "conv2d backward (implicit GEMM dgrad)");
}

int group_norm_scale_shift(int dtype, int64_t n, int64_t c, int64_t groups, const float* mean, const float* rstd,
                           const void* gamma, const void* beta, float* scale, float* shift) {
  if (int rc = device_ok()) return rc;
  if (groups <= 0 || c % groups) return set_error(VLV_CUDA_E_ARG, "group_norm_scale_shift: groups must divide c");
  const int64_t rows = n * c;
  if (rows == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(dtype, T, {
    gn_scale_shift_kernel<T><<<blocks_for(rows, 256), 256, 0, stream()>>>(
        rows, c, groups, mean, rstd, static_cast<const T*>(gamma), static_cast<const T*>(beta), scale, shift);
    return launched("group_norm scale/shift");
  });
}

}  // namespace vlv::cuda
