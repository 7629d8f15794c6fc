// EulerDiscreteScheduler (diffusers v0.33.1), s_churn = 0 (deterministic). set_timesteps:
// float32 timesteps (linspace: numpy.linspace(0, N-1, steps) in float32; leading/trailing as
// diffusers), sigmas = numpy.interp of the training sigmas sqrt((1-a)/a) at those timesteps,
// then the final sigma (0 or sigma_min). init_noise_sigma = max sigma (linspace, trailing) or
// sqrt(max^2 + 1) (leading). The step index starts at the first timestep given (its second
// occurrence if it repeats) and advances by one per step.
//   scale_model_input: x / sqrt(sigma^2 + 1)
//   step: x0 = x - sigma*m (epsilon), m*(-sigma/sqrt(sigma^2+1)) + x/(sigma^2+1) (v), m (sample);
//         prev = x + (x - x0)/sigma * (sigma_next - sigma)
//   add_noise: x0 + sigma(t) * noise, t looked up in the current timesteps.
#include <algorithm>
#include <cmath>

#include "models/schedulers/scheduler.h"
#include "ops/api.h"

namespace vlv::models::sched {

namespace {

class Euler : public Scheduler {
 public:
  explicit Euler(const SchedulerConfig& c) {
    train_ = train_schedule(c);
    final_ = c.final_sigmas_type;
    // Before set_timesteps: every training timestep, descending, and its sigma.
    std::vector<float> s = train_sigmas(train_.alphas_cumprod);
    for (int64_t i = train_.num_train_timesteps - 1; i >= 0; --i) {
      timesteps_.push_back(float(i));
      sigmas_.push_back(s[size_t(i)]);
    }
    sigmas_.push_back(0);
  }

 protected:
  const char* name() const override { return "EulerDiscreteScheduler"; }

  NamedTensors set_timesteps(int64_t steps) override {
    const int64_t n = train_.num_train_timesteps;
    timesteps_.clear();
    if (train_.spacing == "linspace") {
      for (double v : np_linspace(0, double(n - 1), steps)) timesteps_.push_back(float(v));
      std::reverse(timesteps_.begin(), timesteps_.end());
    } else {
      for (int64_t t : spaced_timesteps(train_.spacing, n, steps, train_.steps_offset)) timesteps_.push_back(float(t));
    }
    const std::vector<float> s = train_sigmas(train_.alphas_cumprod);
    sigmas_.clear();
    for (float t : timesteps_) sigmas_.push_back(float(interp_index(double(t), s)));
    sigmas_.push_back(final_ == "zero" ? 0.0f : s[0]);
    step_index_ = -1;
    NamedTensors out = schedule_outputs(tensor_f32(timesteps_), init_noise_sigma());
    out["sigmas"] = tensor_f32(sigmas_);
    return out;
  }

  Tensor scale_model_input(const Tensor& sample, double timestep) override {
    if (step_index_ < 0) step_index_ = index_for_timestep(timestep, "scale_model_input");
    const double sigma = sigmas_[size_t(step_index_)];
    return ops::scale(sample, 1 / std::sqrt(sigma * sigma + 1));
  }

  NamedTensors step(const NamedTensors& in, const Attrs& options) override {
    const Tensor& x = require_input(in, "sample", "EulerDiscreteScheduler.step");
    const Tensor& m = require_input(in, "model_output", "EulerDiscreteScheduler.step");
    VLV_CHECK(options.f("s_churn", 0) == 0, ErrorCode::Arg,
              "EulerDiscreteScheduler.step: s_churn > 0 (stochastic Euler) is not supported");
    if (step_index_ < 0) step_index_ = index_for_timestep(options.f("timestep"), "step");
    VLV_CHECK(size_t(step_index_) + 1 < sigmas_.size(), ErrorCode::Arg,
              "EulerDiscreteScheduler.step: every timestep has been stepped; call set_timesteps again");
    const double sigma = sigmas_[size_t(step_index_)], next = sigmas_[size_t(step_index_) + 1];
    StepCoefs c = step_coefs(options);
    if (train_.prediction == Prediction::Epsilon) c.x0 = {1, -sigma};
    else if (train_.prediction == Prediction::VPrediction)
      c.x0 = {1 / (sigma * sigma + 1), -sigma / std::sqrt(sigma * sigma + 1)};
    else c.x0 = {0, 1};
    const double ratio = (next - sigma) / sigma;  // dt / sigma
    c.sample = 1 + ratio;
    c.x0_coef = -ratio;
    Tensors out = fused_step(x, m, {}, {}, c);
    ++step_index_;
    return {{"prev_sample", out[0]}, {"pred_original_sample", out[1]}};
  }

  Tensor add_noise(const Tensor& x0, const Tensor& noise, const std::vector<double>& t) override {
    std::vector<double> ones, sigma;
    for (double v : t) {
      ones.push_back(1);
      sigma.push_back(sigmas_[size_t(index_for_timestep(v, "add_noise"))]);
    }
    return per_item_combine(x0, noise, ones, sigma, "add_noise");
  }

 private:
  float init_noise_sigma() const {
    const float max_sigma = *std::max_element(sigmas_.begin(), sigmas_.end());
    if (train_.spacing == "leading") return float(std::sqrt(double(max_sigma) * max_sigma + 1));
    return max_sigma;
  }

  int64_t index_for_timestep(double t, const char* method) const {
    std::vector<int64_t> hits;
    for (size_t i = 0; i < timesteps_.size(); ++i)
      if (double(timesteps_[i]) == t) hits.push_back(int64_t(i));
    VLV_CHECK(!hits.empty(), ErrorCode::Arg, "EulerDiscreteScheduler.", method, ": timestep ", t,
              " is not one of the scheduler's timesteps");
    return hits[hits.size() > 1 ? 1 : 0];
  }

  std::string final_;
  std::vector<float> timesteps_, sigmas_;
  int64_t step_index_ = -1;
};

}  // namespace

std::unique_ptr<Model> make_euler(const SchedulerConfig& c) { return std::make_unique<Euler>(c); }

}  // namespace vlv::models::sched
