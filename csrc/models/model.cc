#include "models/model.h"

#include <filesystem>

namespace vlv::models {

namespace {
struct Entry {
  ModelFactory factory;
  ModelFiles files;
};
std::map<std::string, Entry>& registry() {
  static std::map<std::string, Entry> r;
  return r;
}
}  // namespace

ModelRegistrar::ModelRegistrar(const char* kind, ModelFactory factory, ModelFiles files) {
  registry()[kind] = {factory, files};
}

std::vector<std::string> model_kinds() {
  std::vector<std::string> out;
  for (const auto& [k, f] : registry()) out.push_back(k);
  return out;
}

std::unique_ptr<Model> load_model(const std::string& kind, const std::string& folder, DType matrix_dtype) {
  auto it = registry().find(kind);
  if (it == registry().end()) {
    std::string known;
    for (const std::string& k : model_kinds()) known += (known.empty() ? "" : ", ") + k;
    fail(ErrorCode::Arg, "unknown model kind '", kind, "' (known: ", known, ")");
  }
  namespace fs = std::filesystem;
  const ModelFiles& files = it->second.files;
  Config config = Config::load((fs::path(folder) / files.config).string());
  Weights weights = files.weights ? Weights::load(folder, matrix_dtype) : Weights();
  std::unique_ptr<Model> model = it->second.factory(config, weights);
  weights.check_all_used();
  return model;
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
