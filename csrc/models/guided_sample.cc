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
  VLV_CHECK(uncond.dim() == 3 && uncond.size(1) == context.size(1) && uncond.size(2) == context.size(2),
            ErrorCode::Shape, kWhere, ": uncondContext must be [", context.size(0), " or 1, ", context.size(1), ", ",
            context.size(2), "] like context, got ", uncond.desc());
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

GuidedSampleResult guided_sample(Model& unet, Model& vae, Model& scheduler, const Tensor& context, const Tensor& uncond,
                                 const GuidedSampleOptions& o) {
  GradModeGuard no_grad(false);
  VLV_CHECK(context.dim() == 3, ErrorCode::Shape, kWhere, ": context must be [B, L, D], got ", context.desc());
  check_dtype(context, DType::F32, kWhere, "context");
  VLV_CHECK(o.steps >= 1, ErrorCode::Arg, kWhere, ": steps must be >= 1, got ", o.steps);
  VLV_CHECK(o.latent_channels >= 1 && o.latent_height >= 1 && o.latent_width >= 1, ErrorCode::Arg, kWhere,
            ": latent shape must be positive, got [", o.latent_channels, ", ", o.latent_height, ", ", o.latent_width,
            "]");
  const bool guided = uncond.defined() && o.guidance > 1;
  const int64_t batch = context.size(0);
  const Device device = model_device(unet);
  const Tensor ctx = (guided ? ops::concat({batch_uncond(uncond, context), context}, 0) : context).to(device);

  NamedTensors sched = scheduler.run("set_timesteps", {}, {{"num_inference_steps", o.steps}});
  const Tensor timesteps = output(sched, "timesteps", "scheduler.set_timesteps");
  const double init_sigma = scalar_output(sched, "init_noise_sigma", 1.0);

  const Shape shape{batch, o.latent_channels, o.latent_height, o.latent_width};
  const uint64_t blocks = uint64_t((shape_numel(shape) + 3) / 4);  // Philox blocks one draw uses
  Tensor latents = ops::scale(ops::randn(shape, o.seed, 0, device), init_sigma);

  UNetStepGraph unet_call(unet, o.cuda_graphs);
  for (int64_t i = 0; i < o.steps; ++i) {
    throw_if_cancelled();
    const double t = scalar_value(timesteps, i);
    Tensor x = guided ? ops::concat({latents, latents}, 0) : latents;
    x = output(scheduler.run("scale_model_input", {{"sample", x}}, {{"timestep", t}}), "sample",
               "scheduler.scale_model_input");
    const Tensor eps = unet_call(x, timesteps.slice0(i, i + 1), ctx);
    Attrs step{{"timestep", t}, {"seed", int64_t(o.seed)}, {"offset", int64_t(blocks * uint64_t(i + 1))}};
    if (guided) step.set("guidance", o.guidance);  // eps is [uncond; cond]: combined in the step
    if (o.eta > 0) step.set("eta", o.eta);
    latents = output(scheduler.run("step", {{"sample", latents}, {"model_output", eps}}, step), "prev_sample",
                     "scheduler.step");
    report_progress("denoise", i + 1, o.steps);
  }

  throw_if_cancelled();
  NamedTensors vae_config = vae.run("config", {}, {});
  Tensor z = ops::scale(latents.to(model_device(vae)), 1 / scalar_output(vae_config, "scaling_factor", 1.0),
                        scalar_output(vae_config, "shift_factor", 0.0));
  Tensor images = output(vae.run("decode", {{"latent", z}}, {}), "sample", "vae.decode");
  GuidedSampleResult r;
  r.tensors = {{"images", to_unit_range(images.to(Device::CPU))}, {"latents", latents.to(Device::CPU)}};
  r.graph_replays = unet_call.replays();
  r.graph_note = unet_call.note();
  return r;
}

}  // namespace vlv::models
