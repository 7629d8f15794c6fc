// Model: a network built from a config and its weights, run by method name on named
// tensors. One interface for every architecture lets one binding serve them all; each
// architecture registers under its kind ("clip_text", "qwen2", ...) a typed config reader and
// a factory (VLV_REGISTER_MODEL).
//
// Loading runs in this order: the config file is read into the architecture's typed config
// (config_fields.h: every field once), validated, and checked for unread fields; only then are
// the weights opened, and the factory builds the model through a WeightBuilder, which
// registers every tensor taken as a parameter under its reference name; finally every
// checkpoint key must have been taken.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/tensor.h"
#include "io/json.h"
#include "models/config.h"
#include "models/config_fields.h"
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
  // The typed config it was built from, as JSON: the file's field names, defaults filled in.
  const json::Value& config() const { return config_; }

 protected:
  // For composite models, which build their parts themselves (ModelEntry::load).
  void set_parameters(NamedTensors params, json::Value config) {
    params_ = std::move(params);
    config_ = std::move(config);
  }

 private:
  friend struct ModelEntry;
  NamedTensors params_;
  json::Value config_;
};

// The files a kind loads from its folder: the config's name, and whether safetensors weights
// come with it (schedulers: scheduler_config.json and no weights).
struct ModelFiles {
  const char* config = "config.json";
  bool weights = true;
};

// The named files a composite kind is built from (the "vlv" kind: "checkpoint" and each part's
// folder); ordinary kinds take none.
using LoadSources = std::map<std::string, std::string>;

struct LoadRequest {
  std::string folder;
  DType matrix_dtype = DType::F32;
  Device device = Device::CPU;
  LoadSources sources;
};

// A registered kind, type-erased: `read` reads, validates and checks a config and returns the
// step that builds the model from weights. A composite kind has `load` instead: it reads its
// parts' configs and weights itself (building each part through part()).
struct ModelEntry {
  using Build = std::function<std::unique_ptr<Model>(const WeightBuilder&)>;
  std::function<Build(const Config&, json::Value* config_json)> read;
  std::function<std::unique_ptr<Model>(const LoadRequest&)> load;
  ModelFiles files;

  // A registered kind built as a part of a composite: its config read and checked, its
  // weights taken through `vb` (parameters named relative to vb's path).
  static std::unique_ptr<Model> part(const std::string& kind, const Config& config, const WeightBuilder& vb);

  // Reads the config, then builds the model with weights from `weights()` (called once, after
  // the config passed), recording its parameters and config.
  std::unique_ptr<Model> create(const Config& config, const std::function<Weights()>& weights) const;
};

// The entry of an architecture with typed config C: read_config(file) reads every field (and
// the reference's derived defaults), validate(C, source) checks values, then
// config.check_unread(c.ignored()); make(C, vb) builds the model.
template <class C>
ModelEntry model_entry(C (*read_config)(const Config&), std::unique_ptr<Model> (*make)(const C&, const WeightBuilder&),
                       ModelFiles files = {}) {
  ModelEntry e;
  e.files = files;
  e.read = [read_config, make](const Config& file, json::Value* out) -> ModelEntry::Build {
    auto c = std::make_shared<const C>(read_config(file));
    validate(*c, file.source());
    file.check_unread(c->ignored());
    *out = config_json(*c);
    return [c, make](const WeightBuilder& vb) { return make(*c, vb); };
  };
  return e;
}

struct ModelRegistrar {
  ModelRegistrar(const char* kind, ModelEntry entry);
};
// VLV_REGISTER_MODEL("unet", read_unet2d_condition_config, make_unet)
#define VLV_REGISTER_MODEL(kind, read_config, make)                                                                    \
  static ::vlv::models::ModelRegistrar vlv_model_##make(kind, ::vlv::models::model_entry(read_config, make))
// VLV_REGISTER_COMPOSITE("vlv", load_vlv): load_vlv(const LoadRequest&) -> unique_ptr<Model>.
#define VLV_REGISTER_COMPOSITE(kind, load_fn)                                                                          \
  static ::vlv::models::ModelRegistrar vlv_model_##load_fn(kind, ::vlv::models::ModelEntry{{}, load_fn, {}})
#define VLV_REGISTER_MODEL_FILES(kind, read_config, make, files)                                                       \
  static ::vlv::models::ModelRegistrar vlv_model_##make(kind, ::vlv::models::model_entry(read_config, make, files))

// Builds a model of `kind` from a folder (config.json + safetensors, or as its ModelFiles say). Every weight must be
// used and every config field honoured (or known to be irrelevant). matrix_dtype bf16 / f16
// keeps the weight matrices of linear and embedding layers 16-bit (Weights::take_matrix).
// device CUDA puts every weight there (the model then computes there; E_DEVICE without one).
// sources: the named files of a composite kind (ModelEntry::load); E_ARG for other kinds.
std::unique_ptr<Model> load_model(const std::string& kind, const std::string& folder, DType matrix_dtype = DType::F32,
                                  Device device = Device::CPU, const LoadSources& sources = {});
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
