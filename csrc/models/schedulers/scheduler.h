// Diffusion schedulers (diffusers v0.33.1 semantics) as Models of kind "scheduler", loaded
// from a folder's scheduler_config.json (no weights); `_class_name` picks the class.
//
// Methods (every tensor f32 unless said):
//   set_timesteps({}, {num_inference_steps}) -> timesteps (i64; Euler: f32), sigmas (Euler,
//       DPM-Solver: steps + 1 values), alphas_cumprod [num_train_timesteps], init_noise_sigma [1]
//   scale_model_input({sample}, {timestep}) -> sample
//   step({sample, model_output, noise?}, {timestep, guidance?, ...}) -> prev_sample, pred_original_sample
//       (with guidance g: model_output is [uncond; cond], twice sample's batch, combined as
//       uncond + g (cond - uncond) inside the fused step)
//   add_noise({original_samples, noise, timesteps}) -> noisy
//   get_velocity({sample, noise, timesteps}) -> velocity   (DDPM, DDIM)
// The host keeps the schedule (float32 betas and cumulative product, as diffusers) and forms
// each step's scalars; the update itself is the fused scheduler_step op.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/model.h"
#include "models/schedulers/scheduler_config.h"

namespace vlv::models::sched {

enum class Prediction { Epsilon, VPrediction, Sample };

// What every scheduler reads from its config: the training noise schedule.
struct TrainSchedule {
  int64_t num_train_timesteps = 1000;
  std::vector<float> alphas_cumprod;  // float32, as torch.cumprod of float32 alphas
  Prediction prediction = Prediction::Epsilon;
  int64_t steps_offset = 0;
  std::string spacing;  // "leading" | "linspace" | "trailing"
};

// The schedule of a (validated) config: num_train_timesteps, beta_start/end, beta_schedule
// (linear, scaled_linear, squaredcos_cap_v2), prediction_type, steps_offset, timestep_spacing.
TrainSchedule train_schedule(const SchedulerConfig& c);

// diffusers' integer inference timesteps (DDPM/DDIM rule; DPM-Solver passes steps + 1 and
// drops the last): descending.
std::vector<int64_t> spaced_timesteps(const std::string& spacing, int64_t num_train, int64_t steps,
                                      int64_t steps_offset);

// numpy.linspace (endpoint included) and numpy.arange(start, 0, -step), in double.
std::vector<double> np_linspace(double start, double stop, int64_t num);
std::vector<double> np_arange_down(double start, double step);

// sqrt((1 - a) / a) in float32 per training timestep (diffusers' sigmas before set_timesteps).
std::vector<float> train_sigmas(const std::vector<float>& alphas_cumprod);
// numpy.interp(x, [0, 1, ..., n-1], fp) as numpy computes it, in double.
double interp_index(double x, const std::vector<float>& fp);

// x0 = x0_sample * sample + x0_model * model_output for an alpha-schedule step at alpha_prod_t.
struct X0Coefs {
  double sample, model;
};
X0Coefs x0_from_alpha(Prediction p, float alpha_prod_t);

// The fused op: see ops.h (scheduler_step). Returns {prev, x0}.
// guidance: classifier-free guidance folded into the step (model_output is [uncond; cond]);
// read from a step's options by step_coefs().
struct StepCoefs {
  X0Coefs x0{0, 0};
  double clip = 0, sample = 0, model = 0, x0_coef = 0, prev_x0 = 0, noise = 0;
  std::optional<double> guidance;
};
// Fresh coefficients carrying the step's 'guidance' option, if any.
StepCoefs step_coefs(const Attrs& options);
Tensors fused_step(const Tensor& sample, const Tensor& model_output, const Tensor& prev_x0, const Tensor& noise,
                   const StepCoefs& c);
// The variance noise of a stochastic step: the 'noise' input, else randn(x's shape) from the
// 'seed' and 'offset' options, drawn on x's device (the Philox stream is the same on each). E_ARG naming `why` when
// neither is given.
Tensor step_noise(const NamedTensors& in, const Attrs& options, const Tensor& x, const char* why);
// out[b] = ca[b] * a[b] + cb[b] * b[b] per batch item (add_noise, get_velocity).
Tensor per_item_combine(const Tensor& a, const Tensor& b, const std::vector<double>& ca, const std::vector<double>& cb,
                        const char* method);

// Values of a 1-D timesteps tensor (i32, i64, f32, f64) on the CPU, one per batch item of x.
std::vector<double> read_timesteps(const Tensor& t, const Tensor& x, const char* method);
Tensor tensor_f32(const std::vector<float>& v);
Tensor tensor_i64(const std::vector<int64_t>& v);

// The shared method dispatch; each class implements the parts that differ.
class Scheduler : public Model {
 public:
  NamedTensors run(const std::string& method, const NamedTensors& inputs, const Attrs& options) override;

 protected:
  virtual const char* name() const = 0;
  virtual NamedTensors set_timesteps(int64_t steps) = 0;
  virtual Tensor scale_model_input(const Tensor& sample, double timestep) { return sample; }
  virtual NamedTensors step(const NamedTensors& inputs, const Attrs& options) = 0;
  virtual Tensor add_noise(const Tensor& x0, const Tensor& noise, const std::vector<double>& timesteps) = 0;
  virtual Tensor get_velocity(const Tensor& sample, const Tensor& noise, const std::vector<double>& timesteps);

  int64_t train_index(double t, const char* method) const;  // t as an index into alphas_cumprod
  // Common outputs of set_timesteps.
  NamedTensors schedule_outputs(Tensor timesteps, float init_noise_sigma) const;

  TrainSchedule train_;
};

// The schedulers that step on alphas_cumprod directly (DDPM, DDIM): noising and velocity
// from the training schedule, a_t = alphas_cumprod[t].
class AlphaScheduler : public Scheduler {
 protected:
  // sqrt(a_t) * x0 + sqrt(1 - a_t) * noise
  Tensor add_noise(const Tensor& x0, const Tensor& noise, const std::vector<double>& timesteps) override;
  // sqrt(a_t) * noise - sqrt(1 - a_t) * sample
  Tensor get_velocity(const Tensor& sample, const Tensor& noise, const std::vector<double>& timesteps) override;
};

std::unique_ptr<Model> make_ddpm(const SchedulerConfig& c);
std::unique_ptr<Model> make_ddim(const SchedulerConfig& c);
std::unique_ptr<Model> make_euler(const SchedulerConfig& c);
std::unique_ptr<Model> make_dpm_solver(const SchedulerConfig& c);

}  // namespace vlv::models::sched
