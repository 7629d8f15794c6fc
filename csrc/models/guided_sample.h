// Classifier-free guided sampling (diffusers' StableDiffusionPipeline loop) over three loaded
// models: a "unet", a "vae" and a "scheduler". Per step, the unconditional and conditional
// halves go through ONE UNet call on the batch [uncond; cond], then ONE fused scheduler step
// that also forms guided = eps_u + g * (eps_c - eps_u) (scheduler_step's 'guidance').
// Start: latents = randn(latent_shape, seed, offset 0) * init_noise_sigma (Philox stream);
// stochastic steps (DDPM, DDIM eta > 0) draw their noise from the same seed at offsets past
// it. End: images = clamp(vae.decode(latents / scaling_factor + shift_factor) / 2 + 0.5, 0, 1).
// guidance <= 1 or no uncond context: one UNet call on the conditional batch alone. An uncond
// context of another length than the conditional one (VLV: CLIP's 77-token empty prompt
// against N caption-embedding rows) takes two UNet calls per step, uncond then cond.
// Given init_latents / step_noise replace the draws (the reference's recorded randomness).
// The loop runs on the UNet's device (the VAE decodes on its own), the noise drawn there from the
// Philox stream that every device computes alike. On CUDA the UNet call is captured into a
// CUDA graph at the second step and replayed after (UNetStepGraph; options.cuda_graphs).
// Cancellation is checked before every op (so within one step); progress ("denoise", i, steps)
// after each step. Nothing is recorded for autograd.
#pragma once
#include <string>

#include "models/model.h"

namespace vlv::models {

struct GuidedSampleOptions {
  int64_t steps = 20;
  double guidance = 7.5;
  uint64_t seed = 0;
  int64_t latent_channels = 4, latent_height = 64, latent_width = 64;
  double eta = 0;  // DDIM only
  bool cuda_graphs = true;
  bool trajectory = false;  // also return every step's latents and guided model output
};

struct GuidedSampleInputs {
  Tensor context;       // [B, L, D]
  Tensor uncond;        // [B or 1, L', D] or undefined
  Tensor init_latents;  // [B, C, h, w] (before init_noise_sigma) or undefined: drawn
  Tensor step_noise;    // [steps, B, C, h, w] or undefined: drawn
};

struct GuidedSampleResult {
  // On the CPU: images [B, 3, H, W] in [0, 1], decoded (the VAE's output), latents [B, C, h, w],
  // timesteps; with trajectory: latents_trajectory and guided_noise [steps, B, C, h, w].
  NamedTensors tensors;
  int64_t graph_replays = 0;  // steps whose UNet call replayed a CUDA graph
  std::string graph_note;     // why CUDA graphs were given up, if they were
};

GuidedSampleResult guided_sample(Model& unet, Model& vae, Model& scheduler, const GuidedSampleInputs& inputs,
                                 const GuidedSampleOptions& options);

}  // namespace vlv::models
