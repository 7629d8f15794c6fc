// scheduler_step: the per-step update of every diffusion scheduler in one elementwise kernel,
// the CPU's sequence of operations (csrc/ops/cpu/scheduler.cc) per element in f32:
//   m    = fma(guidance, mc - m, m)  (guided: mc is the conditional half, m the unconditional)
//   x0   = fma(x0_model, m, x0_sample*x)  (clamped to [-clip, clip] when clip > 0; NaN stays)
//   prev = fma(x0_coef, x0, fma(model, m, sample*x)) [+ prev_x0_coef*p] [+ noise_coef*noise]
// The products are __fmul_rn so nvcc cannot contract them differently from the CPU: the
// result has the CPU's bits. Memory bound. Not run on a GPU yet.
#include "cuda/kernels.h"
#include "ops/cuda/kernels/common.cuh"

namespace vlv::cuda {

namespace {
__global__ void step_kernel(VlvCudaSchedulerStep c, int64_t n, const float* __restrict__ x, const float* __restrict__ m,
                            const float* __restrict__ mc, const float* __restrict__ p, const float* __restrict__ noise,
                            float* __restrict__ prev, float* __restrict__ x0) {
  VLV_KERNEL_LOOP(i, n) {
    const float xi = x[i], mi = mc ? fmaf(c.guidance, __fsub_rn(mc[i], m[i]), m[i]) : m[i];
    float z = fmaf(c.x0_model, mi, __fmul_rn(c.x0_sample, xi));
    if (c.clip > 0) z = z < -c.clip ? -c.clip : z > c.clip ? c.clip : z;
    float acc = fmaf(c.model, mi, __fmul_rn(c.sample, xi));
    acc = fmaf(c.x0, z, acc);
    if (p) acc = fmaf(c.prev_x0, p[i], acc);
    if (noise) acc = fmaf(c.noise, noise[i], acc);
    x0[i] = z;
    prev[i] = acc;
  }
}
}  // namespace

int scheduler_step(const VlvCudaSchedulerStep* c, int64_t n, const float* x, const float* m, const float* mc,
                   const float* p, const float* noise, float* prev, float* x0) {
  if (int rc = device_ok()) return rc;
  if (n == 0) return VLV_CUDA_OK;
  constexpr int kThreads = 256;
  step_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(*c, n, x, m, mc, p, noise, prev, x0);
  return launched("scheduler_step");
}

}  // namespace vlv::cuda
