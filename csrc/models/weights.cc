#include "models/weights.h"

#include <cmath>
#include <filesystem>

#include "io/safetensors.h"
#include "io/torch_checkpoint.h"
#include "ops/api.h"

namespace vlv::models {

Weights::Weights(std::map<std::string, Tensor> tensors, std::string source, DType matrix_dtype)
    : tensors_(std::move(tensors)), source_(std::move(source)), matrix_dtype_(matrix_dtype) {
  VLV_CHECK(matrix_dtype == DType::F32 || matrix_dtype == DType::BF16 || matrix_dtype == DType::F16, ErrorCode::DType,
            source_, ": weights can be held as f32, bf16 or f16, not ", dtype_name(matrix_dtype));
}

Weights Weights::load(const std::string& path_or_folder, DType matrix_dtype) {
  // A torch.save file (by its name), or a folder whose only weights are pytorch_model.bin.
  std::error_code ec;
  std::string torch_file = std::filesystem::is_directory(path_or_folder, ec) ? io::find_torch_checkpoint(path_or_folder)
                           : io::is_torch_checkpoint_name(path_or_folder)    ? path_or_folder
                                                                             : std::string();
  if (!torch_file.empty()) {
    std::optional<DType> dtype;
    if (matrix_dtype == DType::F32) dtype = DType::F32;
    io::TorchLoaded loaded = io::load_torch_checkpoint(torch_file, dtype);
    std::map<std::string, Tensor> m;
    for (auto& [name, t] : loaded.tensors) m.emplace(name, t);
    return Weights(std::move(m), torch_file, matrix_dtype);
  }
  io::LoadOptions opts;
  // 16-bit matrices: keep the file's dtypes (mapped, not copied) and convert per take.
  if (matrix_dtype == DType::F32) opts.dtype = DType::F32;
  io::Loaded loaded = io::load(path_or_folder, opts);
  std::map<std::string, Tensor> m;
  for (auto& [name, t] : loaded.tensors) m.emplace(name, t);
  return Weights(std::move(m), path_or_folder, matrix_dtype);
}

Shape Weights::shape_of(const std::string& name) const {
  auto it = tensors_.find(name);
  VLV_CHECK(it != tensors_.end(), ErrorCode::FileFormat, source_, ": weight '", name, "' is missing");
  return it->second.shape();
}

void Weights::overlay(const Weights& o) {
  for (const auto& [name, t] : o.tensors_) {
    auto it = tensors_.find(name);
    VLV_CHECK(it != tensors_.end(), ErrorCode::FileFormat, o.source_, ": '", name, "' is not a weight of ", source_);
    VLV_CHECK(it->second.shape() == t.shape(), ErrorCode::FileFormat, o.source_, ": '", name, "' is ", t.desc(),
              ", the base checkpoint's is ", it->second.desc());
    it->second = t;
  }
  source_ += " + " + o.source_;
}

bool Weights::has_prefix(const std::string& prefix) const {
  auto it = tensors_.lower_bound(prefix);
  return it != tensors_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

void Weights::skip_prefix(const std::string& prefix) {
  for (auto it = tensors_.lower_bound(prefix); it != tensors_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it)
    used_.insert(it->first);
}

Weights Weights::random(uint64_t seed, std::string source, DType matrix_dtype) {
  Weights w({}, std::move(source), matrix_dtype);
  w.random_ = true;
  w.seed_ = seed;
  return w;
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

uint64_t mix_seed(uint64_t seed, const std::string& name) {  // FNV-1a of the name, then splitmix64
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : name) h = (h ^ ch) * 1099511628211ull;
  uint64_t z = seed + h + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

Tensor random_init(const std::string& name, const Shape& shape, uint64_t seed) {
  Tensor t;
  if (shape.size() == 1 && ends_with(name, "weight")) {
    t = Tensor::full(shape, 1.0f);
  } else if (ends_with(name, "bias")) {
    t = Tensor::zeros(shape, DType::F32);
  } else {
    double sd = 0.02;
    if (shape.size() >= 2 && name.find("embed") == std::string::npos) {
      int64_t fan_in = 1;
      for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
      sd = 1 / std::sqrt(double(std::max<int64_t>(fan_in, 1)));
    }
    t = ops::scale(ops::randn(shape, mix_seed(seed, name)), sd);
  }
  t.set_requires_grad(false);
  return t;
}

Tensor Weights::take(const std::string& name, const Shape& shape) { return take_as(name, shape, DType::F32); }

Tensor Weights::take_matrix(const std::string& name, const Shape& shape) { return take_as(name, shape, matrix_dtype_); }

Tensor Weights::take_as(const std::string& name, const Shape& shape, DType dtype) {
  if (random_) {
    used_.insert(name);
    Tensor t = random_init(name, shape, seed_);
    return on_device(dtype == DType::F32 ? t : t.to(dtype));
  }
  auto it = tensors_.find(name);
  VLV_CHECK(it != tensors_.end(), ErrorCode::FileFormat, source_, ": weight '", name, "' is missing");
  Tensor& t = it->second;
  VLV_CHECK(t.shape() == shape, ErrorCode::FileFormat, source_, ": weight '", name, "' is ", t.desc(),
            ", the config needs ", shape_str(shape));
  if (t.dtype() != dtype) t = t.to(dtype);
  t = on_device(t);
  if (!t.meta()) t.set_requires_grad(false);  // gives the tensor shared autograd state
  used_.insert(name);
  return t;
}

Tensor Weights::on_device(const Tensor& t) const { return device_ == Device::CPU ? t : t.to(device_); }

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
