// The parts of the VLV auto-encoder (the official code's SDModel and CLIPDecoder) and where
// their weights come from. A VLV checkpoint holds the weights under the official names:
//
//   stage 1 (SDModel):     model.* (Florence-2), text_encoder.* (CLIP), unet.*, vae.*,
//                          language_proj.{0,2}.*, query_embed
//   captioner (CLIPDecoder): VLV_model.<the same, without unet/vae>, qwen2_model.* (Qwen2),
//                          mlp.layers.{0,2}.*
//
// (a leading "module." from a distributed wrapper is accepted); an "overlay" source (a training
// checkpoint's trainable weights) replaces tensors of the checkpoint by name. "device.<part>"
// ("cpu" | "cuda") places one part apart from the others (the model moves tensors between them). Each part's config
// comes from its folder (LoadSources: "florence2", "text_encoder", "unet", "vae", "scheduler", "language_model"); a
// part whose weights the checkpoint lacks takes them from its own folder (a diffusers / transformers folder: real
// SD 2.1-base or Qwen2.5 weights, not copied). With a "random_seed" source, a part that neither holds gets seeded
// random weights (benchmarks at real sizes from configs alone). Only the named parts are built; the checkpoint's keys
// of the others are skipped, and any other key the parts do not take is an error, as for every model.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "models/layers.h"
#include "models/model.h"

namespace vlv::models::vlv {

// Stage 1's heads: the learnable queries and language_proj (Linear, GELU, Linear).
struct QueryHeads {
  Tensor query_embed;  // [1, N, d_florence]
  Linear proj_in, proj_out;
  // Widths from the checkpoint (the official constructors hard-code 1024).
  static QueryHeads load(const WeightBuilder& vb);
  int64_t queries() const { return query_embed.size(1); }
  // The queries repeated over a batch: [B, N, d_florence] (differentiable in query_embed).
  Tensor batch(int64_t b) const;
  // language_proj: [B, N, d_florence] -> z [B, N, d_clip].
  Tensor project(const Tensor& h) const { return proj_out(proj_in(h, "gelu")); }
};

// Stage 2's MLP: c [B, N, d_clip] -> the language model's prefix [B, N, d_lm].
struct PrefixMlp {
  Linear in, out;
  static PrefixMlp load(const WeightBuilder& vb);
  Tensor operator()(const Tensor& c) const { return out(in(c, "gelu")); }
};

// The loaded parts (absent: not asked for).
struct Parts {
  std::unique_ptr<Model> florence2, text_encoder, unet, vae, language_model;
  std::optional<QueryHeads> heads;  // with florence2
  std::optional<PrefixMlp> mlp;     // with language_model
  std::optional<Config> scheduler;  // the scheduler config (built per sampler class)
  NamedTensors params;              // every part's parameters under the official names
  json::Value config;               // {part: its typed config}
};

// Builds the parts `sources` names from the checkpoint (sources["checkpoint"]) and the parts'
// folders.
Parts load_parts(const LoadRequest& request);

// The scheduler of `class_name` ("DDPMScheduler", ...) from a scheduler config of any class,
// as diffusers' from_config reads another class's file (fields it does not take are dropped).
std::unique_ptr<Model> make_scheduler(const Config& config, const std::string& class_name);

}  // namespace vlv::models::vlv
