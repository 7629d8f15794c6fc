#include "models/weights.h"

#include "io/safetensors.h"

namespace vlv::models {

Weights::Weights(std::map<std::string, Tensor> tensors, std::string source)
    : tensors_(std::move(tensors)), source_(std::move(source)) {}

Weights Weights::load(const std::string& path_or_folder) {
  io::LoadOptions opts;
  opts.dtype = DType::F32;
  io::Loaded loaded = io::load(path_or_folder, opts);
  std::map<std::string, Tensor> m;
  for (auto& [name, t] : loaded.tensors) m.emplace(name, t);
  return Weights(std::move(m), path_or_folder);
}

Tensor Weights::take(const std::string& name, const Shape& shape) {
  auto it = tensors_.find(name);
  VLV_CHECK(it != tensors_.end(), ErrorCode::FileFormat, source_, ": weight '", name, "' is missing");
  Tensor& t = it->second;
  VLV_CHECK(t.shape() == shape, ErrorCode::FileFormat, source_, ": weight '", name, "' is ", t.desc(), ", the config needs ",
            shape_str(shape));
  if (t.dtype() != DType::F32) t = t.to(DType::F32);
  if (!t.meta()) t.set_requires_grad(false);  // gives the tensor shared autograd state
  used_.insert(name);
  return t;
}

std::vector<std::string> Weights::unused() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : tensors_)
    if (!used_.count(name)) out.push_back(name);
  return out;
}

void Weights::check_all_used() const {
  std::vector<std::string> u = unused();
  if (u.empty()) return;
  std::string list;
  for (size_t i = 0; i < u.size() && i < 8; ++i) list += (i ? ", " : "") + u[i];
  if (u.size() > 8) list += ", ...";
  fail(ErrorCode::FileFormat, source_, ": ", u.size(), " weight(s) not used by the model: ", list);
}

}  // namespace vlv::models
