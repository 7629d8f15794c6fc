// diffusers' scheduler_config.json as vlv reads it: `_class_name` picks the class, and each
// class reads its own fields (names and defaults as diffusers v0.33.1). One struct holds the
// union; fields() lists the common fields and then those of the named class only, so
// check_unread still rejects a field the class does not take.
#pragma once
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "models/config_fields.h"

namespace vlv::models::sched {

struct SchedulerConfig {
  std::string _class_name;
  // The training noise schedule (every class).
  int64_t num_train_timesteps = 1000;
  double beta_start = 0.0001, beta_end = 0.02;
  std::string beta_schedule = "linear";
  RawField trained_betas;  // only null
  bool rescale_betas_zero_snr = false;
  std::string prediction_type = "epsilon";
  int64_t steps_offset = 0;
  std::optional<std::string> timestep_spacing;  // filled with the class's default when absent
  // DDPM, DDIM.
  bool clip_sample = true, thresholding = false;
  double clip_sample_range = 1.0;
  std::string variance_type = "fixed_small";  // DDPM
  bool set_alpha_to_one = true;               // DDIM
  // Euler, DPM-Solver.
  bool use_karras_sigmas = false, use_exponential_sigmas = false, use_beta_sigmas = false;
  std::string final_sigmas_type = "zero";
  std::string interpolation_type = "linear", timestep_type = "discrete";  // Euler
  // DPM-Solver.
  std::string algorithm_type = "dpmsolver++", solver_type = "midpoint";
  int64_t solver_order = 2;
  bool lower_order_final = true, euler_at_final = false, use_lu_lambdas = false, use_flow_sigmas = false;
  double lambda_min_clipped = -std::numeric_limits<double>::infinity();
  RawField dpm_variance_type;  // DPM-Solver's variance_type: only null (learned variance is not supported)

  bool is(const char* cls) const { return _class_name == cls; }

  template <class V>
  void fields(V& v) {
    v.required("_class_name", _class_name);
    v.optional("num_train_timesteps", num_train_timesteps);
    v.optional("beta_start", beta_start);
    v.optional("beta_end", beta_end);
    v.optional("beta_schedule", beta_schedule);
    v.optional("trained_betas", trained_betas);
    v.optional("rescale_betas_zero_snr", rescale_betas_zero_snr);
    v.optional("prediction_type", prediction_type);
    v.optional("steps_offset", steps_offset);
    v.optional("timestep_spacing", timestep_spacing);
    if (is("DDPMScheduler") || is("DDIMScheduler")) {
      v.optional("clip_sample", clip_sample);
      v.optional("clip_sample_range", clip_sample_range);
      v.optional("thresholding", thresholding);
    }
    if (is("DDPMScheduler")) v.optional("variance_type", variance_type);
    if (is("DDIMScheduler")) v.optional("set_alpha_to_one", set_alpha_to_one);
    if (is("EulerDiscreteScheduler") || is("DPMSolverMultistepScheduler")) {
      v.optional("use_karras_sigmas", use_karras_sigmas);
      v.optional("use_exponential_sigmas", use_exponential_sigmas);
      v.optional("use_beta_sigmas", use_beta_sigmas);
      v.optional("final_sigmas_type", final_sigmas_type);
    }
    if (is("EulerDiscreteScheduler")) {
      v.optional("interpolation_type", interpolation_type);
      v.optional("timestep_type", timestep_type);
    }
    if (is("DPMSolverMultistepScheduler")) {
      v.optional("algorithm_type", algorithm_type);
      v.optional("solver_order", solver_order);
      v.optional("solver_type", solver_type);
      v.optional("lower_order_final", lower_order_final);
      v.optional("euler_at_final", euler_at_final);
      v.optional("lambda_min_clipped", lambda_min_clipped);
      v.optional("variance_type", dpm_variance_type);
      v.optional("thresholding", thresholding);
      v.optional("use_lu_lambdas", use_lu_lambdas);
      v.optional("use_flow_sigmas", use_flow_sigmas);
    }
  }
  // Per class, the fields that do not act with the settings vlv supports (or at all).
  std::vector<std::string> ignored() const;
};

SchedulerConfig read_scheduler_config(const Config& c);
void validate(const SchedulerConfig& c, const std::string& source);

}  // namespace vlv::models::sched
