// CUDA kernel table, scheduler_step (kernel: csrc/cuda/scheduler_step.cu): the CPU's checks
// and scalars (csrc/ops/cpu/scheduler_step.cc), one fused elementwise launch, f32.
#include "ops/cuda_common.h"
#include "ops/cuda_ops.h"

namespace vlv::cudaops {

namespace {
void check_f32(const Tensor& t, const char* arg) {
  VLV_CHECK(t.dtype() == DType::F32, ErrorCode::DType, "scheduler_step: ", arg, " must be f32, got ", t.desc());
}

const float* optional_input(const Tensor& t, const Tensor& sample, const char* name, double coef) {
  if (!t.defined()) {
    VLV_CHECK(coef == 0, ErrorCode::Arg, "scheduler_step: input '", name, "' is missing but its coefficient is ", coef);
    return nullptr;
  }
  check_f32(t, name);
  VLV_CHECK(t.shape() == sample.shape(), ErrorCode::Shape, "scheduler_step: ", name, " ", t.desc(),
            " must have the shape of sample ", sample.desc());
  return t.data<float>();
}
}  // namespace

Tensors scheduler_step(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor &x = input(in, 0), &m = input(in, 1);
  VLV_CHECK(x.defined() && m.defined(), ErrorCode::Arg, "scheduler_step: sample and model_output are required");
  check_f32(x, "sample");
  check_f32(m, "model_output");
  VLV_CHECK(m.shape() == x.shape(), ErrorCode::Shape, "scheduler_step: model_output ", m.desc(),
            " must have the shape of sample ", x.desc());
  const double clip = attrs.f("clip", 0);
  VLV_CHECK(clip >= 0, ErrorCode::Arg, "scheduler_step: attribute 'clip' must be >= 0, got ", clip);
  const VlvCudaSchedulerStep c{float(attrs.f("x0_sample", 0)),   float(attrs.f("x0_model", 0)), float(clip),
                               float(attrs.f("sample_coef", 0)), float(attrs.f("model_coef", 0)),
                               float(attrs.f("x0_coef", 0)),     float(attrs.f("prev_x0_coef", 0)),
                               float(attrs.f("noise_coef", 0))};
  const float* p = optional_input(input(in, 2), x, "prev_x0", c.prev_x0);
  const float* n = optional_input(input(in, 3), x, "noise", c.noise);
  Tensor prev = empty(x.shape(), DType::F32), x0 = empty(x.shape(), DType::F32);
  ck(api().scheduler_step(&c, x.numel(), x.data<float>(), m.data<float>(), p, n, prev.data<float>(),
                          x0.data<float>()),
     "scheduler_step");
  return {prev, x0};
}

}  // namespace vlv::cudaops
