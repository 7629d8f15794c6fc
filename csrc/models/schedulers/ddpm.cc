// DDPMScheduler (diffusers v0.33.1). step(t): prev_t is the next entry of the inference
// timesteps (-1 after the last; t - 1 before set_timesteps);
//   x0 from the model output (epsilon / v_prediction / sample), clamped if clip_sample;
//   prev = sqrt(a_prev)*beta_t/(1-a_t) * x0 + sqrt(alpha_t)*(1-a_prev)/(1-a_t) * x
//          + std(t) * noise   (t > 0)
// with alpha_t = a_t/a_prev, beta_t = 1 - alpha_t, variance (1-a_prev)/(1-a_t)*beta_t clamped
// at 1e-20 (fixed_small, fixed_small_log) or beta_t (fixed_large). The noise is the `noise`
// input, or drawn with ops::randn from the `seed` (and `offset`) option.
#include <algorithm>
#include <cmath>

#include "models/schedulers/scheduler.h"
#include "ops/api.h"

namespace vlv::models::sched {

namespace {

class Ddpm : public AlphaScheduler {
 public:
  explicit Ddpm(const SchedulerConfig& c) {
    train_ = train_schedule(c);
    variance_ = c.variance_type;
    clip_ = c.clip_sample ? c.clip_sample_range : 0.0;
  }

 protected:
  const char* name() const override { return "DDPMScheduler"; }

  NamedTensors set_timesteps(int64_t steps) override {
    timesteps_ = spaced_timesteps(train_.spacing, train_.num_train_timesteps, steps, train_.steps_offset);
    return schedule_outputs(tensor_i64(timesteps_), 1.0f);
  }

  NamedTensors step(const NamedTensors& in, const Attrs& options) override {
    const Tensor& x = require_input(in, "sample", "DDPMScheduler.step");
    const Tensor& m = require_input(in, "model_output", "DDPMScheduler.step");
    const int64_t t = train_index(options.f("timestep"), "step");
    const int64_t prev_t = previous_timestep(t);
    const float a_t = train_.alphas_cumprod[size_t(t)];
    const float a_prev = prev_t >= 0 ? train_.alphas_cumprod[size_t(prev_t)] : 1.0f;
    const double b_t = 1.0 - a_t, b_prev = 1.0 - a_prev;
    const double alpha = double(a_t) / a_prev, beta = 1 - alpha;

    StepCoefs c = step_coefs(options);
    c.x0 = x0_from_alpha(train_.prediction, a_t);
    c.clip = clip_;
    c.x0_coef = std::sqrt(double(a_prev)) * beta / b_t;
    c.sample = std::sqrt(alpha) * b_prev / b_t;
    Tensor noise;
    if (t > 0) {
      const double variance = variance_ == "fixed_large" ? beta : std::max(b_prev / b_t * beta, 1e-20);
      c.noise = std::sqrt(variance);
      noise = step_noise(in, options, x,
                         "DDPMScheduler.step: give the variance noise (input 'noise') or a 'seed' option for t > 0");
    }
    Tensors out = fused_step(x, m, {}, noise, c);
    return {{"prev_sample", out[0]}, {"pred_original_sample", out[1]}};
  }

 private:
  int64_t previous_timestep(int64_t t) const {
    if (timesteps_.empty()) return t - 1;
    auto it = std::find(timesteps_.begin(), timesteps_.end(), t);
    VLV_CHECK(it != timesteps_.end(), ErrorCode::Arg, "DDPMScheduler.step: timestep ", t,
              " is not one of the timesteps of set_timesteps");
    return it + 1 == timesteps_.end() ? -1 : *(it + 1);
  }

  std::string variance_;
  double clip_ = 0;
  std::vector<int64_t> timesteps_;
};

}  // namespace

std::unique_ptr<Model> make_ddpm(const SchedulerConfig& c) { return std::make_unique<Ddpm>(c); }

}  // namespace vlv::models::sched
