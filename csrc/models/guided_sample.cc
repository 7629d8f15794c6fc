#include "models/guided_sample.h"

#include <algorithm>

#include "autograd/autograd.h"
#include "core/call_context.h"
#include "models/unet_step_graph.h"
#include "ops/api.h"

namespace vlv::models {

namespace {

constexpr const char* kWhere = "sample";

double scalar_value(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::I64: return double(t.data<int64_t>()[i]);
    case DType::F32: return double(t.data<float>()[i]);
    default: fail(ErrorCode::DType, kWhere, ": scheduler value ", t.desc(), " is neither i64 nor f32");
  }
}

double scalar_output(const NamedTensors& out, const char* name, double fallback) {
  auto it = out.find(name);
  return it == out.end() ? fallback : scalar_value(it->second.contiguous_f32(), 0);
}

const Tensor& output(const NamedTensors& out, const char* name, const char* call) {
  auto it = out.find(name);
  VLV_CHECK(it != out.end(), ErrorCode::Arg, kWhere, ": ", call, " gave no '", name, "'");
  return it->second;
}

// The unconditional context repeated to the conditional batch.
Tensor batch_uncond(const Tensor& uncond, const Tensor& context) {
  VLV_CHECK(uncond.dim() == 3 && uncond.size(2) == context.size(2), ErrorCode::Shape, kWhere,
            ": uncondContext must be [", context.size(0), " or 1, L, ", context.size(2), "] like context, got ",
            uncond.desc());
  if (uncond.size(0) == context.size(0)) return uncond;
  VLV_CHECK(uncond.size(0) == 1, ErrorCode::Shape, kWhere, ": uncondContext batch must be 1 or ", context.size(0),
            ", got ", uncond.desc());
  return ops::concat(Tensors(size_t(context.size(0)), uncond), 0);
}

// x / 2 + 0.5 clamped to [0, 1] (diffusers' VaeImageProcessor.denormalize).
Tensor to_unit_range(const Tensor& x) {
  Tensor y = ops::scale(x, 0.5, 0.5);
  float* p = y.data<float>();
  for (int64_t i = 0, n = y.numel(); i < n; ++i) p[i] = std::min(1.0f, std::max(0.0f, p[i]));
  return y;
}

// Where a model computes: the device of its parameters (CPU for a model without any).
Device model_device(const Model& m) {
  for (const auto& [name, t] : m.parameters())
    if (t.defined()) return t.device();
  return Device::CPU;
}

}  // namespace

// A given tensor of exactly `shape` (f32), on `device`.
Tensor given(const Tensor& t, const Shape& shape, const char* what, Device device) {
  VLV_CHECK(t.shape() == shape, ErrorCode::Shape, kWhere, ": ", what, " must be ", shape_str(shape), ", got ",
            t.desc());
  check_dtype(t, DType::F32, kWhere, what);
  return t.to(device);
}

GuidedSampleResult guided_sample(Model& unet, Model& vae, Model& scheduler, const GuidedSampleInputs& in,
                                 const GuidedSampleOptions& o) {
  GradModeGuard no_grad(false);
  const Tensor& context = in.context;
  VLV_CHECK(context.defined() && context.dim() == 3, ErrorCode::Shape, kWhere, ": context must be [B, L, D], got ",
            context.defined() ? context.desc() : std::string("nothing"));
  check_dtype(context, DType::F32, kWhere, "context");
  VLV_CHECK(o.steps >= 1, ErrorCode::Arg, kWhere, ": steps must be >= 1, got ", o.steps);
  VLV_CHECK(o.latent_channels >= 1 && o.latent_height >= 1 && o.latent_width >= 1, ErrorCode::Arg, kWhere,
            ": latent shape must be positive, got [", o.latent_channels, ", ", o.latent_height, ", ", o.latent_width,
            "]");
  const bool guided = in.uncond.defined() && o.guidance > 1;
  const int64_t batch = context.size(0);
  const Device device = model_device(unet);
  const Tensor uncond = guided ? batch_uncond(in.uncond, context).to(device) : Tensor();
  // One UNet call on [uncond; cond] when both contexts have the same length, else two.
  const bool one_call = guided && uncond.size(1) == context.size(1);
  const Tensor cond = context.to(device);
  const Tensor ctx = one_call ? ops::concat({uncond, cond}, 0) : cond;

  NamedTensors sched = scheduler.run("set_timesteps", {}, {{"num_inference_steps", o.steps}});
  const Tensor timesteps = output(sched, "timesteps", "scheduler.set_timesteps");
  const double init_sigma = scalar_output(sched, "init_noise_sigma", 1.0);

  const Shape shape{batch, o.latent_channels, o.latent_height, o.latent_width};
  const uint64_t blocks = uint64_t((shape_numel(shape) + 3) / 4);  // Philox blocks one draw uses
  Tensor latents = ops::scale(in.init_latents.defined() ? given(in.init_latents, shape, "init_latents", device)
                                                        : ops::randn(shape, o.seed, 0, device),
                              init_sigma);
  Tensor step_noise;
  if (in.step_noise.defined()) {
    Shape all{o.steps};
    all.insert(all.end(), shape.begin(), shape.end());
    step_noise = given(in.step_noise, all, "step_noise", device);
  }

  UNetStepGraph unet_call(unet, o.cuda_graphs), uncond_call(unet, o.cuda_graphs);
  Tensors trajectory, guided_outputs;
  for (int64_t i = 0; i < o.steps; ++i) {
    throw_if_cancelled();
    const double t = scalar_value(timesteps, i);
    const Tensor ti = timesteps.slice0(i, i + 1);
    Tensor x = one_call ? ops::concat({latents, latents}, 0) : latents;
    x = output(scheduler.run("scale_model_input", {{"sample", x}}, {{"timestep", t}}), "sample",
               "scheduler.scale_model_input");
    Tensor eps = unet_call(x, ti, ctx);
    if (guided && !one_call) eps = ops::concat({uncond_call(x, ti, uncond), eps}, 0);
    Attrs step{{"timestep", t}, {"seed", int64_t(o.seed)}, {"offset", int64_t(blocks * uint64_t(i + 1))}};
    if (guided) step.set("guidance", o.guidance);  // eps is [uncond; cond]: combined in the step
    if (o.eta > 0) step.set("eta", o.eta);
    NamedTensors step_in{{"sample", latents}, {"model_output", eps}};
    if (step_noise.defined()) step_in["noise"] = ops::reshape(step_noise.slice0(i, i + 1), shape);
    latents = output(scheduler.run("step", step_in, step), "prev_sample", "scheduler.step");
    if (o.trajectory) {
      Tensor g = eps;
      if (guided) {  // eps_u + g (eps_c - eps_u), as the fused step forms it
        Tensors halves = ops::split(eps, 0, {batch, batch});
        g = ops::add(halves[0], ops::scale(ops::sub(halves[1], halves[0]), o.guidance));
      }
      guided_outputs.push_back(ops::reshape(g, {1, batch, o.latent_channels, o.latent_height, o.latent_width}));
      trajectory.push_back(ops::reshape(latents, {1, batch, o.latent_channels, o.latent_height, o.latent_width}));
    }
    report_progress("denoise", i + 1, o.steps);
  }

  throw_if_cancelled();
  NamedTensors vae_config = vae.run("config", {}, {});
  Tensor z = ops::scale(latents.to(model_device(vae)), 1 / scalar_output(vae_config, "scaling_factor", 1.0),
                        scalar_output(vae_config, "shift_factor", 0.0));
  Tensor decoded = output(vae.run("decode", {{"latent", z}}, {}), "sample", "vae.decode").to(Device::CPU);
  GuidedSampleResult r;
  r.tensors = {{"images", to_unit_range(decoded)},
               {"decoded", decoded},
               {"latents", latents.to(Device::CPU)},
               {"timesteps", timesteps.to(Device::CPU)}};
  if (o.trajectory) {
    r.tensors["latents_trajectory"] = ops::concat(trajectory, 0).to(Device::CPU);
    r.tensors["guided_noise"] = ops::concat(guided_outputs, 0).to(Device::CPU);
  }
  r.graph_replays = unet_call.replays() + uncond_call.replays();
  r.graph_note = unet_call.note();
  return r;
}

}  // namespace vlv::models
