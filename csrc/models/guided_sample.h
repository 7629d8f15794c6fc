// Classifier-free guided sampling (diffusers' StableDiffusionPipeline loop) over three loaded
// models: a "unet", a "vae" and a "scheduler". Per step, the unconditional and conditional
// halves go through ONE UNet call on the batch [uncond; cond], then
//   guided = eps_u + g * (eps_c - eps_u),  latents = scheduler.step(guided, t, latents).
// Start: latents = randn(latent_shape, seed, offset 0) * init_noise_sigma (Philox stream);
// stochastic steps (DDPM, DDIM eta > 0) draw their noise from the same seed at offsets past
// it. End: images = clamp(vae.decode(latents / scaling_factor + shift_factor) / 2 + 0.5, 0, 1).
// guidance <= 1 or no uncond context: one UNet call on the conditional batch alone.
// Cancellation is checked before every op (so within one step); progress ("denoise", i, steps)
// after each step. Nothing is recorded for autograd.
#pragma once
#include "models/model.h"

namespace vlv::models {

struct GuidedSampleOptions {
  int64_t steps = 20;
  double guidance = 7.5;
  uint64_t seed = 0;
  int64_t latent_channels = 4, latent_height = 64, latent_width = 64;
  double eta = 0;  // DDIM only
};

// context [B, L, D]; uncond [B, L, D] or [1, L, D] (repeated to B) or undefined.
// Returns images [B, 3, H, W] in [0, 1] and the final latents [B, C, h, w].
NamedTensors guided_sample(Model& unet, Model& vae, Model& scheduler, const Tensor& context, const Tensor& uncond,
                           const GuidedSampleOptions& options);

}  // namespace vlv::models
