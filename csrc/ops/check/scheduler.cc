#include "ops/check/scheduler.h"

#include "core/error.h"

namespace vlv {

namespace {
constexpr const char* kOp = "scheduler_step";

const Tensor& at(const Tensors& in, size_t i) {
  static const Tensor none;
  return i < in.size() ? in[i] : none;
}

const float* optional_input(const Tensor& t, const Tensor& sample, const char* name, float coef) {
  if (!t.defined()) {
    VLV_CHECK(coef == 0, ErrorCode::Arg, kOp, ": input '", name, "' is missing but its coefficient is ", coef);
    return nullptr;
  }
  check_float(t, kOp, name);
  VLV_CHECK(t.shape() == sample.shape(), ErrorCode::Shape, kOp, ": ", name, " ", t.desc(),
            " must have the shape of sample ", sample.desc());
  return t.data<float>();
}
}  // namespace

SchedulerStepArgs scheduler_step_args(const Tensors& in, const Attrs& attrs) {
  const Tensor &x = at(in, 0), &m = at(in, 1);
  VLV_CHECK(x.defined() && m.defined(), ErrorCode::Arg, kOp, ": sample and model_output are required");
  check_float(x, kOp, "sample");
  check_float(m, kOp, "model_output");
  SchedulerStepArgs a{};
  const bool guided = attrs.has("guidance");
  a.guidance = guided ? float(attrs.f("guidance")) : 0.f;
  a.numel = x.numel();
  a.x = x.data<float>();
  a.m = m.data<float>();
  if (guided) {
    Shape twice = x.shape();
    VLV_CHECK(!twice.empty(), ErrorCode::Shape, kOp, ": a guided step needs a batch dim, got sample ", x.desc());
    twice[0] *= 2;
    VLV_CHECK(m.shape() == twice, ErrorCode::Shape, kOp, ": with 'guidance', model_output ", m.desc(),
              " must be [uncond; cond] of shape ", shape_str(twice), " (twice sample ", x.desc(), ")");
    a.mc = a.m + a.numel;
  } else {
    VLV_CHECK(m.shape() == x.shape(), ErrorCode::Shape, kOp, ": model_output ", m.desc(),
              " must have the shape of sample ", x.desc());
  }
  const double clip = attrs.f("clip", 0);
  VLV_CHECK(clip >= 0, ErrorCode::Arg, kOp, ": attribute 'clip' must be >= 0, got ", clip);
  a.clip = float(clip);
  a.x0_sample = float(attrs.f("x0_sample", 0)), a.x0_model = float(attrs.f("x0_model", 0));
  a.sample = float(attrs.f("sample_coef", 0)), a.model = float(attrs.f("model_coef", 0));
  a.x0 = float(attrs.f("x0_coef", 0)), a.prev_x0 = float(attrs.f("prev_x0_coef", 0));
  a.noise = float(attrs.f("noise_coef", 0));
  a.p = optional_input(at(in, 2), x, "prev_x0", a.prev_x0);
  a.n = optional_input(at(in, 3), x, "noise", a.noise);
  return a;
}

}  // namespace vlv
