// Model: a network built from a config and its weights, run by method name on named
// tensors. One interface for every architecture lets one binding serve them all; each
// architecture registers a factory under its kind ("clip_text", "qwen2", ...). The factory
// builds the model through a WeightBuilder, which registers every tensor taken as a parameter
// under its reference name; then every checkpoint key must have been taken.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "core/tensor.h"
#include "models/config.h"
#include "models/weight_builder.h"
#include "models/weights.h"
#include "ops/attrs.h"

namespace vlv::models {

class Model {
 public:
  virtual ~Model() = default;
  // Runs a method ("forward", ...) on named inputs; options are the method's attributes.
  // Recording for autograd follows the caller's grad mode.
  virtual NamedTensors run(const std::string& method, const NamedTensors& inputs, const Attrs& options) = 0;
  // Every parameter under its reference name (the tensors the model computes with): what
  // the model's modules took through the WeightBuilder while it was built.
  const NamedTensors& parameters() const { return params_; }

 private:
  friend struct ModelEntry;
  NamedTensors params_;
};

// The files a kind loads from its folder: the config's name, and whether safetensors weights
// come with it (schedulers: scheduler_config.json and no weights).
struct ModelFiles {
  const char* config = "config.json";
  bool weights = true;
};

using ModelFactory = std::unique_ptr<Model> (*)(const Config& config, const WeightBuilder& weights);

// A registered kind: its files and factory. create() builds the model from weights(),
// recording every tensor its modules took as its parameters.
struct ModelEntry {
  ModelFactory factory = nullptr;
  ModelFiles files;
  std::unique_ptr<Model> create(const Config& config, Weights& weights) const;
};

struct ModelRegistrar {
  ModelRegistrar(const char* kind, ModelFactory factory, ModelFiles files = {});
};
#define VLV_REGISTER_MODEL(kind, factory) static ::vlv::models::ModelRegistrar vlv_model_##factory(kind, &factory)
#define VLV_REGISTER_MODEL_FILES(kind, factory, files) \
  static ::vlv::models::ModelRegistrar vlv_model_##factory(kind, &factory, files)

// Builds a model of `kind` from a folder (config.json + safetensors, or as its ModelFiles say). Every weight must be
// used and every config field honoured (or known to be irrelevant). matrix_dtype bf16 / f16
// keeps the weight matrices of linear and embedding layers 16-bit (Weights::take_matrix).
// device CUDA puts every weight there (the model then computes there; E_DEVICE without one).
std::unique_ptr<Model> load_model(const std::string& kind, const std::string& folder,
                                  DType matrix_dtype = DType::F32, Device device = Device::CPU);
// Builds a model of `kind` from its config alone with seeded random weights (random_init):
// `config` is the config file itself or a folder holding it (under the kind's config name).
// device CUDA puts the weights there, as load_model.
std::unique_ptr<Model> random_model(const std::string& kind, const std::string& config, uint64_t seed,
                                    Device device = Device::CPU);
std::vector<std::string> model_kinds();

// Input lookups for run() implementations.
const Tensor* find_input(const NamedTensors& inputs, const std::string& name);
const Tensor& require_input(const NamedTensors& inputs, const std::string& name, const char* method);

}  // namespace vlv::models
