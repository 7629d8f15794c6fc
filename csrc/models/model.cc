#include "models/model.h"

#include <filesystem>

namespace vlv::models {

namespace {
std::map<std::string, ModelEntry>& registry() {
  static std::map<std::string, ModelEntry> r;
  return r;
}
}  // namespace

ModelRegistrar::ModelRegistrar(const char* kind, ModelEntry entry) { registry()[kind] = std::move(entry); }

std::unique_ptr<Model> ModelEntry::create(const Config& config, const std::function<Weights()>& weights) const {
  json::Value config_json;
  Build build = read(config, &config_json);
  Weights w = weights();
  NamedTensors params;
  std::unique_ptr<Model> model = build(WeightBuilder(w, params));
  w.check_all_used();
  model->params_ = std::move(params);
  model->config_ = std::move(config_json);
  return model;
}

std::vector<std::string> model_kinds() {
  std::vector<std::string> out;
  for (const auto& [k, f] : registry()) out.push_back(k);
  return out;
}

namespace {
const ModelEntry& entry(const std::string& kind) {
  auto it = registry().find(kind);
  if (it == registry().end()) {
    std::string known;
    for (const std::string& k : model_kinds()) known += (known.empty() ? "" : ", ") + k;
    fail(ErrorCode::Arg, "unknown model kind '", kind, "' (known: ", known, ")");
  }
  return it->second;
}
}  // namespace

std::unique_ptr<Model> ModelEntry::part(const std::string& kind, const Config& config, const WeightBuilder& vb) {
  const ModelEntry& e = entry(kind);
  VLV_CHECK(e.read, ErrorCode::Internal, "model kind '", kind, "' cannot be a part (it is a composite)");
  json::Value config_json;
  Build build = e.read(config, &config_json);
  NamedTensors params;
  std::unique_ptr<Model> model = build(vb.rooted_into(params));
  model->params_ = std::move(params);
  model->config_ = std::move(config_json);
  return model;
}

std::unique_ptr<Model> load_model(const std::string& kind, const std::string& folder, DType matrix_dtype, Device device,
                                  const LoadSources& sources) {
  namespace fs = std::filesystem;
  const ModelEntry& e = entry(kind);
  if (e.load) return e.load(LoadRequest{folder, matrix_dtype, device, sources});
  VLV_CHECK(sources.empty(), ErrorCode::Arg, "model kind '", kind, "' is loaded from its folder alone (no sources)");
  Config config = Config::load((fs::path(folder) / e.files.config).string());
  return e.create(config, [&] {
    Weights weights = e.files.weights ? Weights::load(folder, matrix_dtype) : Weights();
    weights.set_device(device);
    return weights;
  });
}

std::unique_ptr<Model> random_model(const std::string& kind, const std::string& config, uint64_t seed, Device device) {
  namespace fs = std::filesystem;
  const ModelEntry& e = entry(kind);
  VLV_CHECK(e.read, ErrorCode::Arg, "model kind '", kind, "' is a composite: it has no random initialisation");
  std::error_code ec;
  const std::string path = fs::is_directory(config, ec) ? (fs::path(config) / e.files.config).string() : config;
  Config c = Config::load(path);
  return e.create(c, [&] {
    Weights weights = Weights::random(seed, path + " (random weights)");
    weights.set_device(device);
    return weights;
  });
}

const Tensor* find_input(const NamedTensors& inputs, const std::string& name) {
  auto it = inputs.find(name);
  return it == inputs.end() || !it->second.defined() ? nullptr : &it->second;
}

const Tensor& require_input(const NamedTensors& inputs, const std::string& name, const char* method) {
  const Tensor* t = find_input(inputs, name);
  VLV_CHECK(t, ErrorCode::Arg, method, ": input '", name, "' is required");
  return *t;
}

}  // namespace vlv::models
