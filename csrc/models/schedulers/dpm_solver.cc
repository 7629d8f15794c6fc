// DPMSolverMultistepScheduler (diffusers v0.33.1), algorithm dpmsolver++ of order 1 or 2
// (2M), solver_type midpoint or heun. With alpha(s) = 1/sqrt(s^2+1), sigma(s) = s*alpha(s),
// lambda = log(alpha) - log(sigma), h = lambda_next - lambda_cur:
//   x0 = (x - sigma*m)/alpha (epsilon), alpha*x - sigma*m (v), m (sample)
//   1st order: prev = sigma_next/sigma_cur * x - alpha_next*(e^-h - 1) * x0
//   2nd order: + D1 = (x0 - x0_prev)/r0, r0 = h_prev/h; midpoint adds -0.5*alpha_next*(e^-h - 1)*D1,
//              heun adds alpha_next*((e^-h - 1)/h + 1)*D1
// The first step, and the last when lower_order_final / euler_at_final / final sigma zero say
// so, are first order. x0 of the previous step is kept (the model-output history). add_noise
// looks each timestep up in the current timesteps (all training timesteps, descending,
// before set_timesteps; a timestep not found takes the last index) and returns
// alpha(s)*x0 + sigma(s)*noise: before set_timesteps the sigmas are indexed by training
// timestep, so timestep t reads the sigma of N-1-t, as diffusers does.
#include <cmath>
#include <limits>

#include "models/schedulers/scheduler.h"

namespace vlv::models::sched {

namespace {

struct AlphaSigma {
  double alpha, sigma, lambda;
};
AlphaSigma alpha_sigma(double s) {
  const double alpha = 1 / std::sqrt(s * s + 1), sigma = s * alpha;
  return {alpha, sigma, std::log(alpha) - std::log(sigma)};
}

class DpmSolver : public Scheduler {
 public:
  explicit DpmSolver(const SchedulerConfig& c) {
    train_ = train_schedule(c);
    order_ = c.solver_order;
    solver_ = c.solver_type;
    lower_order_final_ = c.lower_order_final;
    euler_at_final_ = c.euler_at_final;
    final_ = c.final_sigmas_type;
    lambda_min_clipped_ = c.lambda_min_clipped;
    for (int64_t i = train_.num_train_timesteps - 1; i >= 0; --i) timesteps_.push_back(double(i));
    sigmas_ = train_sigmas(train_.alphas_cumprod);  // ascending in t until set_timesteps
  }

 protected:
  const char* name() const override { return "DPMSolverMultistepScheduler"; }

  NamedTensors set_timesteps(int64_t steps) override {
    const int64_t n = train_.num_train_timesteps;
    int64_t clipped = 0;  // training timesteps whose lambda lies below lambda_min_clipped
    for (float a : train_.alphas_cumprod) {
      const float lambda = std::log(std::sqrt(a)) - std::log(std::sqrt(1.0f - a));
      clipped += lambda < lambda_min_clipped_;
    }
    const int64_t last = n - clipped;
    std::vector<int64_t> ts;
    if (train_.spacing == "linspace") {
      for (double v : np_linspace(0, double(last - 1), steps + 1)) ts.push_back(int64_t(std::nearbyint(v)));
      std::reverse(ts.begin(), ts.end());
      ts.pop_back();
    } else if (train_.spacing == "leading") {
      const int64_t ratio = last / (steps + 1);
      for (int64_t i = steps; i >= 1; --i) ts.push_back(i * ratio + train_.steps_offset);
    } else {
      for (double v : np_arange_down(double(last), double(n) / double(steps)))
        ts.push_back(int64_t(std::nearbyint(v)) - 1);
    }
    const std::vector<float> s = train_sigmas(train_.alphas_cumprod);
    timesteps_.clear();
    sigmas_.clear();
    for (int64_t t : ts) {
      timesteps_.push_back(double(t));
      sigmas_.push_back(float(interp_index(double(t), s)));
    }
    sigmas_.push_back(final_ == "zero" ? 0.0f : s[0]);
    steps_ = int64_t(ts.size());
    prev_x0_ = Tensor();
    lower_order_nums_ = 0;
    step_index_ = -1;
    NamedTensors out = schedule_outputs(tensor_i64(ts), 1.0f);
    out["sigmas"] = tensor_f32(sigmas_);
    return out;
  }

  NamedTensors step(const NamedTensors& in, const Attrs& options) override {
    const Tensor& x = require_input(in, "sample", "DPMSolverMultistepScheduler.step");
    const Tensor& m = require_input(in, "model_output", "DPMSolverMultistepScheduler.step");
    VLV_CHECK(steps_ > 0, ErrorCode::Arg, "DPMSolverMultistepScheduler.step: call set_timesteps first");
    if (step_index_ < 0) step_index_ = index_for_timestep(options.f("timestep"));
    VLV_CHECK(step_index_ < steps_, ErrorCode::Arg,
              "DPMSolverMultistepScheduler.step: every timestep has been stepped; call set_timesteps again");
    const bool final_step = step_index_ == steps_ - 1;
    const bool lower_final = final_step && (euler_at_final_ || (lower_order_final_ && steps_ < 15) || final_ == "zero");
    const bool first_order = order_ == 1 || lower_order_nums_ < 1 || lower_final;

    const AlphaSigma cur = alpha_sigma(sigmas_[size_t(step_index_)]);
    const AlphaSigma next = alpha_sigma(sigmas_[size_t(step_index_) + 1]);
    StepCoefs c = step_coefs(options);
    if (train_.prediction == Prediction::Epsilon) c.x0 = {1 / cur.alpha, -cur.sigma / cur.alpha};
    else if (train_.prediction == Prediction::VPrediction) c.x0 = {cur.alpha, -cur.sigma};
    else c.x0 = {0, 1};
    const double h = next.lambda - cur.lambda;  // +inf at a final sigma of 0: exp(-h) = 0
    const double e = next.alpha * (std::exp(-h) - 1);
    c.sample = next.sigma / cur.sigma;
    c.x0_coef = -e;
    if (!first_order) {  // order 2 (lower_order_second only matters for order 3)
      const AlphaSigma prev = alpha_sigma(sigmas_[size_t(step_index_) - 1]);
      const double r0 = (cur.lambda - prev.lambda) / h;
      const double d1 = solver_ == "midpoint" ? -0.5 * e : next.alpha * ((std::exp(-h) - 1) / h + 1);
      c.x0_coef += d1 / r0;
      c.prev_x0 = -d1 / r0;
    }
    Tensors out = fused_step(x, m, first_order ? Tensor() : prev_x0_, {}, c);
    prev_x0_ = out[1];
    if (lower_order_nums_ < order_) ++lower_order_nums_;
    ++step_index_;
    return {{"prev_sample", out[0]}, {"pred_original_sample", out[1]}};
  }

  Tensor add_noise(const Tensor& x0, const Tensor& noise, const std::vector<double>& t) override {
    std::vector<double> ca, cb;
    for (double v : t) {
      const AlphaSigma s = alpha_sigma(sigmas_[size_t(index_for_timestep(v))]);
      ca.push_back(s.alpha);
      cb.push_back(s.sigma);
    }
    return per_item_combine(x0, noise, ca, cb, "add_noise");
  }

 private:
  int64_t index_for_timestep(double t) const {
    std::vector<int64_t> hits;
    for (size_t i = 0; i < timesteps_.size(); ++i)
      if (timesteps_[i] == t) hits.push_back(int64_t(i));
    if (hits.empty()) return int64_t(timesteps_.size()) - 1;
    return hits[hits.size() > 1 ? 1 : 0];
  }

  int64_t order_ = 2;
  std::string solver_, final_;
  bool lower_order_final_ = true, euler_at_final_ = false;
  double lambda_min_clipped_ = 0;
  std::vector<double> timesteps_;
  std::vector<float> sigmas_;
  int64_t steps_ = 0, lower_order_nums_ = 0, step_index_ = -1;
  Tensor prev_x0_;
};

}  // namespace

std::unique_ptr<Model> make_dpm_solver(const SchedulerConfig& c) { return std::make_unique<DpmSolver>(c); }

}  // namespace vlv::models::sched
