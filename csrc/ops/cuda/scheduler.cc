// CUDA kernel table, scheduler_step (kernel: csrc/cuda/scheduler_step.cu): the shared checks
// and scalars (ops/scheduler_step_args), one fused elementwise launch, f32, the guidance
// combine included.
#include "ops/check/scheduler.h"
#include "ops/cuda/common.h"
#include "ops/cuda/table.h"

namespace vlv::cudaops {

Tensors scheduler_step(const Tensors& in, const Attrs& attrs, Saved*) {
  const SchedulerStepArgs a = scheduler_step_args(in, attrs);
  const VlvCudaSchedulerStep c{a.x0_sample, a.x0_model, a.clip,  a.sample,  a.model,
                               a.x0,        a.prev_x0,  a.noise, a.guidance};
  const Shape& shape = input(in, 0).shape();
  Tensor prev = empty(shape, DType::F32), x0 = empty(shape, DType::F32);
  ck(api().scheduler_step(&c, a.numel, a.x, a.m, a.mc, a.p, a.n, prev.data<float>(), x0.data<float>()),
     "scheduler_step");
  return {prev, x0};
}

}  // namespace vlv::cudaops
