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

}  // namespace

// ---- the config ----

SchedulerConfig read_scheduler_config(const Config& c) {
  SchedulerConfig s = read_fields<SchedulerConfig>(c);
  if (!s.timestep_spacing) s.timestep_spacing = s.is("DDPMScheduler") || s.is("DDIMScheduler") ? "leading" : "linspace";
  return s;
}

void validate(const SchedulerConfig& c, const std::string& source) {
  VLV_CHECK(c.is("DDPMScheduler") || c.is("DDIMScheduler") || c.is("EulerDiscreteScheduler") ||
                c.is("DPMSolverMultistepScheduler"),
            ErrorCode::Arg, source, ": _class_name '", c._class_name,
            "' is not supported (DDPMScheduler, DDIMScheduler, EulerDiscreteScheduler, DPMSolverMultistepScheduler)");
  VLV_CHECK(c.num_train_timesteps >= 2, ErrorCode::Arg, source, ": num_train_timesteps must be >= 2, got ",
            c.num_train_timesteps);
  VLV_CHECK(!c.trained_betas.present(), ErrorCode::Arg, source, ": trained_betas is not supported");
  VLV_CHECK(!c.rescale_betas_zero_snr, ErrorCode::Arg, source, ": rescale_betas_zero_snr is not supported");
  const std::string& kind = c.beta_schedule;
  VLV_CHECK(kind == "linear" || kind == "scaled_linear" || kind == "squaredcos_cap_v2", ErrorCode::Arg, source,
            ": beta_schedule '", kind, "' is not supported (linear, scaled_linear, squaredcos_cap_v2)");
  const std::string& p = c.prediction_type;
  VLV_CHECK(p == "epsilon" || p == "v_prediction" || p == "sample", ErrorCode::Arg, source, ": prediction_type '", p,
            "' is not supported (epsilon, v_prediction, sample)");
  const std::string& spacing = *c.timestep_spacing;
  VLV_CHECK(spacing == "leading" || spacing == "linspace" || spacing == "trailing", ErrorCode::Arg, source,
            ": timestep_spacing '", spacing, "' is not supported (leading, linspace, trailing)");
  if (c.is("DDPMScheduler")) {
    const std::string& v = c.variance_type;
    VLV_CHECK(v == "fixed_small" || v == "fixed_small_log" || v == "fixed_large", ErrorCode::Arg, source,
              ": variance_type '", v, "' is not supported (fixed_small, fixed_small_log, fixed_large)");
  }
  if (c.is("DDPMScheduler") || c.is("DDIMScheduler") || c.is("DPMSolverMultistepScheduler"))
    VLV_CHECK(!c.thresholding, ErrorCode::Arg, source, ": thresholding is not supported");
  if (c.is("EulerDiscreteScheduler") || c.is("DPMSolverMultistepScheduler")) {
    const std::pair<const char*, bool> sigmas[] = {{"use_karras_sigmas", c.use_karras_sigmas},
                                                   {"use_exponential_sigmas", c.use_exponential_sigmas},
                                                   {"use_beta_sigmas", c.use_beta_sigmas}};
    for (const auto& [k, set] : sigmas) VLV_CHECK(!set, ErrorCode::Arg, source, ": ", k, " is not supported");
  }
  if (c.is("EulerDiscreteScheduler")) {
    expect_string(source, "interpolation_type", c.interpolation_type, "linear");
    expect_string(source, "timestep_type", c.timestep_type, "discrete");
  }
  if (c.is("DPMSolverMultistepScheduler")) {
    expect_string(source, "algorithm_type", c.algorithm_type, "dpmsolver++");
    VLV_CHECK(c.solver_order == 1 || c.solver_order == 2, ErrorCode::Arg, source, ": solver_order ", c.solver_order,
              " is not supported (1, 2)");
    VLV_CHECK(c.solver_type == "midpoint" || c.solver_type == "heun", ErrorCode::Arg, source, ": solver_type '",
              c.solver_type, "' is not supported (midpoint, heun)");
    VLV_CHECK(!c.dpm_variance_type.present(), ErrorCode::Arg, source, ": variance_type (learned) is not supported");
    VLV_CHECK(!c.use_lu_lambdas, ErrorCode::Arg, source, ": use_lu_lambdas is not supported");
    VLV_CHECK(!c.use_flow_sigmas, ErrorCode::Arg, source, ": use_flow_sigmas is not supported");
  }
  if (c.is("EulerDiscreteScheduler") || c.is("DPMSolverMultistepScheduler"))
    VLV_CHECK(c.final_sigmas_type == "zero" || c.final_sigmas_type == "sigma_min", ErrorCode::Arg, source,
              ": final_sigmas_type '", c.final_sigmas_type, "' is not supported (zero, sigma_min)");
}

std::vector<std::string> SchedulerConfig::ignored() const {
  // clip_sample_range acts only with clip_sample; the thresholding fields only with
  // thresholding; sigma_min / sigma_max only shape the karras / exponential / beta sigmas;
  // flow_shift only acts with use_flow_sigmas (all refused or off).
  if (is("DDPMScheduler"))
    return {"_diffusers_version", "dynamic_thresholding_ratio", "sample_max_value", "set_alpha_to_one",
            "skip_prk_steps"};
  if (is("DDIMScheduler"))
    return {"_diffusers_version", "dynamic_thresholding_ratio", "sample_max_value", "skip_prk_steps", "variance_type"};
  if (is("EulerDiscreteScheduler"))
    return {"_diffusers_version", "sigma_min", "sigma_max", "clip_sample", "set_alpha_to_one", "skip_prk_steps"};
  return {"_diffusers_version", "flow_shift",    "dynamic_thresholding_ratio", "sample_max_value", "clip_sample",
          "set_alpha_to_one",   "skip_prk_steps"};
}

TrainSchedule train_schedule(const SchedulerConfig& c) {
  TrainSchedule s;
  s.num_train_timesteps = c.num_train_timesteps;
  const int64_t n = s.num_train_timesteps;
  std::vector<float> betas;
  if (c.beta_schedule == "linear") {
    betas = linspace_f32(float(c.beta_start), float(c.beta_end), n);
  } else if (c.beta_schedule == "scaled_linear") {
    betas = linspace_f32(float(std::sqrt(c.beta_start)), float(std::sqrt(c.beta_end)), n);
    for (float& b : betas) b = b * b;
  } else {  // squaredcos_cap_v2
    betas = cosine_betas(n);
  }
  double acc = 1;
  for (float b : betas) {
    acc *= double(1.0f - b);
    s.alphas_cumprod.push_back(float(acc));
  }
  s.prediction = c.prediction_type == "epsilon"        ? Prediction::Epsilon
                 : c.prediction_type == "v_prediction" ? Prediction::VPrediction
                                                       : Prediction::Sample;
  s.steps_offset = c.steps_offset;
  s.spacing = *c.timestep_spacing;
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
  Attrs attrs{{"x0_sample", c.x0.sample},  {"x0_model", c.x0.model}, {"clip", c.clip},
              {"sample_coef", c.sample},   {"model_coef", c.model},  {"x0_coef", c.x0_coef},
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
    items.push_back(
        fused_step(a.slice0(int64_t(i), int64_t(i) + 1), b.slice0(int64_t(i), int64_t(i) + 1), {}, {}, c)[0]);
  }
  return items.size() == 1 ? items[0] : ops::concat(items, 0);
}

std::vector<double> read_timesteps(const Tensor& t, const Tensor& x, const char* method) {
  VLV_CHECK(t.device() == Device::CPU, ErrorCode::Arg, method, ": timesteps must be on the CPU");
  VLV_CHECK(x.dim() >= 1, ErrorCode::Shape, method, ": samples must be [B, ...], got ", x.desc());
  VLV_CHECK(t.dim() == 1 && t.size(0) == x.size(0), ErrorCode::Shape, method, ": timesteps must be [", x.size(0),
            "] (one per batch item), got ", t.desc());
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
  VLV_CHECK(t == std::floor(t) && t >= 0 && t < double(train_.num_train_timesteps), ErrorCode::Arg, name(), ".", method,
            ": timestep ", t, " is not an integer training timestep in [0, ", train_.num_train_timesteps, ")");
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

std::unique_ptr<Model> make_scheduler(const SchedulerConfig& c, const WeightBuilder&) {
  if (c.is("DDPMScheduler")) return make_ddpm(c);
  if (c.is("DDIMScheduler")) return make_ddim(c);
  if (c.is("EulerDiscreteScheduler")) return make_euler(c);
  return make_dpm_solver(c);  // the classes validate() accepts
}

}  // namespace

VLV_REGISTER_MODEL_FILES("scheduler", read_scheduler_config, make_scheduler,
                         (ModelFiles{"scheduler_config.json", false}));

}  // namespace vlv::models::sched
