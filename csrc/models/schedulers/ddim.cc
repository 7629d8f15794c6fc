// DDIMScheduler (diffusers v0.33.1). step(t) with prev_t = t - num_train/steps:
//   x0 and eps from the model output (eps = model output for epsilon; sqrt(a)*m + sqrt(1-a)*x
//   for v_prediction; (x - sqrt(a)*x0)/sqrt(1-a) for sample), x0 clamped if clip_sample;
//   std = eta * sqrt((1-a_prev)/(1-a_t) * (1 - a_t/a_prev));
//   prev = sqrt(a_prev)*x0 + sqrt(1 - a_prev - std^2)*eps + std*noise   (noise when eta > 0)
// a_prev for prev_t < 0 is 1 (set_alpha_to_one) or alphas_cumprod[0]. Options: timestep,
// eta=0, use_clipped_model_output=0 (eps re-derived from the clamped x0), seed/offset when
// eta > 0 and no `noise` input is given.
#include <cmath>

#include "models/schedulers/scheduler.h"
#include "ops/api.h"

namespace vlv::models::sched {

namespace {

class Ddim : public AlphaScheduler {
 public:
  explicit Ddim(const SchedulerConfig& c) {
    train_ = train_schedule(c);
    clip_ = c.clip_sample ? c.clip_sample_range : 0.0;
    final_alpha_ = c.set_alpha_to_one ? 1.0f : train_.alphas_cumprod[0];
  }

 protected:
  const char* name() const override { return "DDIMScheduler"; }

  NamedTensors set_timesteps(int64_t steps) override {
    steps_ = steps;
    return schedule_outputs(
        tensor_i64(spaced_timesteps(train_.spacing, train_.num_train_timesteps, steps, train_.steps_offset)), 1.0f);
  }

  NamedTensors step(const NamedTensors& in, const Attrs& options) override {
    const Tensor& x = require_input(in, "sample", "DDIMScheduler.step");
    const Tensor& m = require_input(in, "model_output", "DDIMScheduler.step");
    VLV_CHECK(steps_ > 0, ErrorCode::Arg, "DDIMScheduler.step: call set_timesteps first");
    const int64_t t = train_index(options.f("timestep"), "step");
    const int64_t prev_t = t - train_.num_train_timesteps / steps_;
    const float a_t = train_.alphas_cumprod[size_t(t)];
    const float a_prev = prev_t >= 0 ? train_.alphas_cumprod[size_t(prev_t)] : final_alpha_;
    const double sa = std::sqrt(double(a_t)), sb = std::sqrt(1.0 - a_t);
    const double eta = options.f("eta", 0);
    VLV_CHECK(eta >= 0, ErrorCode::Arg, "DDIMScheduler.step: eta must be >= 0, got ", eta);
    const double variance = (1.0 - a_prev) / (1.0 - a_t) * (1 - double(a_t) / a_prev);
    const double std_dev = eta * std::sqrt(variance);
    const double dir = std::sqrt(1.0 - a_prev - std_dev * std_dev);

    StepCoefs c = step_coefs(options);
    c.x0 = x0_from_alpha(train_.prediction, a_t);
    c.clip = clip_;
    c.x0_coef = std::sqrt(double(a_prev));
    if (options.b("use_clipped_model_output", false)) {  // eps = (x - sqrt(a)*x0) / sqrt(1-a)
      c.sample = dir / sb;
      c.x0_coef -= dir * sa / sb;
    } else if (train_.prediction == Prediction::Epsilon) {
      c.model = dir;
    } else if (train_.prediction == Prediction::VPrediction) {
      c.sample = dir * sb;
      c.model = dir * sa;
    } else {  // sample: x0 = m before clipping
      c.sample = dir / sb;
      c.model = -dir * sa / sb;
    }
    Tensor noise;
    if (eta > 0) {
      c.noise = std_dev;
      noise = step_noise(in, options, x,
                         "DDIMScheduler.step: eta > 0 needs the variance noise (input 'noise') or a 'seed' option");
    }
    Tensors out = fused_step(x, m, {}, noise, c);
    return {{"prev_sample", out[0]}, {"pred_original_sample", out[1]}};
  }

 private:
  double clip_ = 0;
  float final_alpha_ = 1;
  int64_t steps_ = 0;
};

}  // namespace

std::unique_ptr<Model> make_ddim(const SchedulerConfig& c) { return std::make_unique<Ddim>(c); }

}  // namespace vlv::models::sched
