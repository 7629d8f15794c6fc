// The bookkeeping every scheduler shares: the training noise schedule in float32 exactly as
// diffusers/torch form it, numpy's linspace/interp rules, the scheduler_step call, the method
// dispatch, and the "scheduler" model kind (the config's `_class_name` picks the class).
//
// torch.linspace in float32 (checked bit for bit against diffusers v0.33.1's alphas_cumprod):
// step = (end - start) / (n - 1) in float; the first half is start + step*i, the second half
// end - step*(n-1-i), each rounded once. torch.cumprod of float32 on the CPU accumulates in
// double and rounds each partial product.
#include <algorithm>
#include <cmath>
#include <limits>

#include "models/schedulers/scheduler.h"
#include "ops/api.h"

namespace vlv::models::sched {

namespace {

std::vector<float> linspace_f32(float start, float end, int64_t n) {
  std::vector<float> out(size_t(n), start);
  if (n < 2) return out;
  const float step = (end - start) / float(n - 1);
  for (int64_t i = 0; i < n; ++i)
    out[size_t(i)] = i < n / 2 ? std::fma(step, float(i), start) : std::fma(-step, float(n - 1 - i), end);
  return out;
}

// diffusers' betas_for_alpha_bar (cosine): computed in double, stored as float32.
std::vector<float> cosine_betas(int64_t n) {
  auto alpha_bar = [](double t) {
    double c = std::cos((t + 0.008) / 1.008 * M_PI / 2);
    return c * c;
  };
  std::vector<float> out;
  for (int64_t i = 0; i < n; ++i)
    out.push_back(float(std::min(1 - alpha_bar(double(i + 1) / n) / alpha_bar(double(i) / n), 0.999)));
  return out;
}

Prediction parse_prediction(const Config& c) {
  std::string p = c.s("prediction_type", "epsilon");
  if (p == "epsilon") return Prediction::Epsilon;
  if (p == "v_prediction") return Prediction::VPrediction;
  if (p == "sample") return Prediction::Sample;
  fail(ErrorCode::Arg, c.source(), ": prediction_type '", p, "' is not supported (epsilon, v_prediction, sample)");
}

}  // namespace

TrainSchedule read_train_schedule(const Config& c, const std::string& default_spacing) {
  TrainSchedule s;
  s.num_train_timesteps = c.i("num_train_timesteps", 1000);
  const int64_t n = s.num_train_timesteps;
  VLV_CHECK(n >= 2, ErrorCode::Arg, c.source(), ": num_train_timesteps must be >= 2, got ", n);
  VLV_CHECK(!c.has("trained_betas"), ErrorCode::Arg, c.source(), ": trained_betas is not supported");
  VLV_CHECK(!c.b("rescale_betas_zero_snr", false), ErrorCode::Arg, c.source(),
            ": rescale_betas_zero_snr is not supported");
  const double start = c.f("beta_start", 0.0001), end = c.f("beta_end", 0.02);
  const std::string kind = c.s("beta_schedule", "linear");
  std::vector<float> betas;
  if (kind == "linear") {
    betas = linspace_f32(float(start), float(end), n);
  } else if (kind == "scaled_linear") {
    betas = linspace_f32(float(std::sqrt(start)), float(std::sqrt(end)), n);
    for (float& b : betas) b = b * b;
  } else if (kind == "squaredcos_cap_v2") {
    betas = cosine_betas(n);
  } else {
    fail(ErrorCode::Arg, c.source(), ": beta_schedule '", kind, "' is not supported (linear, scaled_linear, squaredcos_cap_v2)");
  }
  double acc = 1;
  for (float b : betas) {
    acc *= double(1.0f - b);
    s.alphas_cumprod.push_back(float(acc));
  }
  s.prediction = parse_prediction(c);
  s.steps_offset = c.i("steps_offset", 0);
  s.spacing = c.s("timestep_spacing", default_spacing);
  VLV_CHECK(s.spacing == "leading" || s.spacing == "linspace" || s.spacing == "trailing", ErrorCode::Arg, c.source(),
            ": timestep_spacing '", s.spacing, "' is not supported (leading, linspace, trailing)");
  return s;
}

std::vector<double> np_linspace(double start, double stop, int64_t num) {
  std::vector<double> y(size_t(num), start);
  const double step = num > 1 ? (stop - start) / double(num - 1) : 0;
  for (int64_t i = 0; i < num; ++i) y[size_t(i)] = double(i) * step + start;
  if (num > 1) y.back() = stop;
  return y;
}

std::vector<double> np_arange_down(double start, double step) {
  std::vector<double> y;
  const int64_t len = int64_t(std::ceil(start / step));
  for (int64_t i = 0; i < len; ++i) y.push_back(start - double(i) * step);
  return y;
}

std::vector<int64_t> spaced_timesteps(const std::string& spacing, int64_t num_train, int64_t steps,
                                      int64_t steps_offset) {
  std::vector<int64_t> out;
  if (spacing == "linspace") {
    for (double v : np_linspace(0, double(num_train - 1), steps)) out.push_back(int64_t(std::nearbyint(v)));
    std::reverse(out.begin(), out.end());
  } else if (spacing == "leading") {
    const int64_t ratio = num_train / steps;
    for (int64_t i = steps - 1; i >= 0; --i) out.push_back(i * ratio + steps_offset);
  } else {  // trailing
    for (double v : np_arange_down(double(num_train), double(num_train) / double(steps)))
      out.push_back(int64_t(std::nearbyint(v)) - 1);
  }
  return out;
}

std::vector<float> train_sigmas(const std::vector<float>& alphas_cumprod) {
  std::vector<float> out;
  for (float a : alphas_cumprod) out.push_back(std::sqrt((1.0f - a) / a));
  return out;
}

double interp_index(double x, const std::vector<float>& fp) {
  const int64_t n = int64_t(fp.size());
  if (!(x > 0)) return fp.front();
  if (x >= double(n - 1)) return fp.back();
  const int64_t j = int64_t(std::floor(x));
  if (double(j) == x) return fp[size_t(j)];
  const double slope = double(fp[size_t(j) + 1]) - double(fp[size_t(j)]);
  return slope * (x - double(j)) + double(fp[size_t(j)]);
}

X0Coefs x0_from_alpha(Prediction p, float alpha_prod_t) {
  const double sa = std::sqrt(double(alpha_prod_t)), sb = std::sqrt(double(1.0f - alpha_prod_t));
  switch (p) {
    case Prediction::Epsilon: return {1 / sa, -sb / sa};
    case Prediction::VPrediction: return {sa, -sb};
    default: return {0, 1};
  }
}

StepCoefs step_coefs(const Attrs& options) {
  StepCoefs c;
  if (options.has("guidance")) c.guidance = options.f("guidance");
  return c;
}

Tensors fused_step(const Tensor& sample, const Tensor& model_output, const Tensor& prev_x0, const Tensor& noise,
                   const StepCoefs& c) {
  Attrs attrs{{"x0_sample", c.x0.sample},    {"x0_model", c.x0.model}, {"clip", c.clip},
              {"sample_coef", c.sample},     {"model_coef", c.model},  {"x0_coef", c.x0_coef},
              {"prev_x0_coef", c.prev_x0}, {"noise_coef", c.noise}};
  if (c.guidance) attrs.set("guidance", *c.guidance);
  return call(OpId::scheduler_step, {sample, model_output, prev_x0, noise}, attrs);
}

Tensor step_noise(const NamedTensors& in, const Attrs& options, const Tensor& x, const char* why) {
  if (const Tensor* n = find_input(in, "noise")) return *n;
  VLV_CHECK(options.has("seed"), ErrorCode::Arg, why);
  return ops::randn(x.shape(), uint64_t(options.i("seed")), uint64_t(options.i("offset", 0)), x.device());
}

Tensor per_item_combine(const Tensor& a, const Tensor& b, const std::vector<double>& ca, const std::vector<double>& cb,
                        const char* method) {
  VLV_CHECK(a.shape() == b.shape(), ErrorCode::Shape, method, ": the two tensors must have one shape, got ", a.desc(),
            " and ", b.desc());
  Tensors items;
  for (size_t i = 0; i < ca.size(); ++i) {
    StepCoefs c;
    c.sample = ca[i];
    c.model = cb[i];
    items.push_back(fused_step(a.slice0(int64_t(i), int64_t(i) + 1), b.slice0(int64_t(i), int64_t(i) + 1), {}, {}, c)[0]);
  }
  return items.size() == 1 ? items[0] : ops::concat(items, 0);
}

std::vector<double> read_timesteps(const Tensor& t, const Tensor& x, const char* method) {
  VLV_CHECK(t.device() == Device::CPU, ErrorCode::Arg, method, ": timesteps must be on the CPU");
  VLV_CHECK(x.dim() >= 1, ErrorCode::Shape, method, ": samples must be [B, ...], got ", x.desc());
  VLV_CHECK(t.dim() == 1 && t.size(0) == x.size(0), ErrorCode::Shape, method, ": timesteps must be [",
            x.size(0), "] (one per batch item), got ", t.desc());
  std::vector<double> out;
  for (int64_t i = 0; i < t.numel(); ++i) {
    switch (t.dtype()) {
      case DType::I64: out.push_back(double(t.data<int64_t>()[i])); break;
      case DType::I32: out.push_back(double(t.data<int32_t>()[i])); break;
      case DType::F32: out.push_back(double(t.data<float>()[i])); break;
      case DType::F64: out.push_back(t.data<double>()[i]); break;
      default: fail(ErrorCode::DType, method, ": timesteps must be i64, i32, f32 or f64, got ", t.desc());
    }
  }
  return out;
}

Tensor tensor_f32(const std::vector<float>& v) {
  Tensor t = Tensor::empty({int64_t(v.size())}, DType::F32);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

Tensor tensor_i64(const std::vector<int64_t>& v) {
  Tensor t = Tensor::empty({int64_t(v.size())}, DType::I64);
  std::copy(v.begin(), v.end(), t.data<int64_t>());
  return t;
}

// ---- Scheduler: method dispatch and the alpha-schedule helpers ----

NamedTensors Scheduler::run(const std::string& method, const NamedTensors& in, const Attrs& options) {
  const std::string where = std::string(name()) + "." + method;
  if (method == "set_timesteps") {
    const int64_t steps = options.i("num_inference_steps");
    VLV_CHECK(steps >= 1 && steps <= train_.num_train_timesteps, ErrorCode::Arg, where,
              ": num_inference_steps must lie in [1, ", train_.num_train_timesteps, "], got ", steps);
    return set_timesteps(steps);
  }
  if (method == "scale_model_input") {
    const Tensor& x = require_input(in, "sample", where.c_str());
    return {{"sample", scale_model_input(x, options.f("timestep"))}};
  }
  if (method == "step") return step(in, options);
  if (method == "add_noise" || method == "get_velocity") {
    const bool noise = method == "add_noise";
    const Tensor& x = require_input(in, noise ? "original_samples" : "sample", where.c_str());
    const Tensor& n = require_input(in, "noise", where.c_str());
    VLV_CHECK(n.shape() == x.shape(), ErrorCode::Shape, where, ": noise ", n.desc(), " must have the shape of ",
              x.desc());
    std::vector<double> t = read_timesteps(require_input(in, "timesteps", where.c_str()), x, where.c_str());
    if (noise) return {{"noisy", add_noise(x, n, t)}};
    return {{"velocity", get_velocity(x, n, t)}};
  }
  fail(ErrorCode::Arg, name(), ": unknown method '", method,
       "' (set_timesteps, scale_model_input, step, add_noise, get_velocity)");
}

Tensor Scheduler::get_velocity(const Tensor&, const Tensor&, const std::vector<double>&) {
  fail(ErrorCode::Arg, name(), ": get_velocity is not available (diffusers defines it for DDPM and DDIM)");
}

int64_t Scheduler::train_index(double t, const char* method) const {
  VLV_CHECK(t == std::floor(t) && t >= 0 && t < double(train_.num_train_timesteps), ErrorCode::Arg, name(), ".",
            method, ": timestep ", t, " is not an integer training timestep in [0, ", train_.num_train_timesteps, ")");
  return int64_t(t);
}

Tensor AlphaScheduler::add_noise(const Tensor& x0, const Tensor& noise, const std::vector<double>& timesteps) {
  std::vector<double> ca, cb;
  for (double t : timesteps) {
    const float a = train_.alphas_cumprod[size_t(train_index(t, "add_noise"))];
    ca.push_back(std::sqrt(double(a)));
    cb.push_back(std::sqrt(double(1.0f - a)));
  }
  return per_item_combine(x0, noise, ca, cb, "add_noise");
}

Tensor AlphaScheduler::get_velocity(const Tensor& sample, const Tensor& noise, const std::vector<double>& timesteps) {
  std::vector<double> cn, cs;
  for (double t : timesteps) {
    const float a = train_.alphas_cumprod[size_t(train_index(t, "get_velocity"))];
    cn.push_back(std::sqrt(double(a)));
    cs.push_back(-std::sqrt(double(1.0f - a)));
  }
  return per_item_combine(noise, sample, cn, cs, "get_velocity");
}

NamedTensors Scheduler::schedule_outputs(Tensor timesteps, float init_noise_sigma) const {
  return {{"timesteps", std::move(timesteps)},
          {"alphas_cumprod", tensor_f32(train_.alphas_cumprod)},
          {"init_noise_sigma", tensor_f32({init_noise_sigma})}};
}

// ---- the "scheduler" model kind ----

namespace {

std::unique_ptr<Model> make_scheduler(const Config& c, const WeightBuilder&) {
  const std::string cls = c.s("_class_name");
  if (cls == "DDPMScheduler") return make_ddpm(c);
  if (cls == "DDIMScheduler") return make_ddim(c);
  if (cls == "EulerDiscreteScheduler") return make_euler(c);
  if (cls == "DPMSolverMultistepScheduler") return make_dpm_solver(c);
  fail(ErrorCode::Arg, c.source(), ": _class_name '", cls,
       "' is not supported (DDPMScheduler, DDIMScheduler, EulerDiscreteScheduler, DPMSolverMultistepScheduler)");
}

}  // namespace

VLV_REGISTER_MODEL_FILES("scheduler", make_scheduler, (ModelFiles{"scheduler_config.json", false}));

}  // namespace vlv::models::sched
