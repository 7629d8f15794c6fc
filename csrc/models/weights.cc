#include "models/weights.h"

#include "io/safetensors.h"

namespace vlv::models {

Weights::Weights(std::map<std::string, Tensor> tensors, std::string source, DType matrix_dtype)
    : tensors_(std::move(tensors)), source_(std::move(source)), matrix_dtype_(matrix_dtype) {
  VLV_CHECK(matrix_dtype == DType::F32 || matrix_dtype == DType::BF16 || matrix_dtype == DType::F16, ErrorCode::DType,
            source_, ": weights can be held as f32, bf16 or f16, not ", dtype_name(matrix_dtype));
}

Weights Weights::load(const std::string& path_or_folder, DType matrix_dtype) {
  io::LoadOptions opts;
  // 16-bit matrices: keep the file's dtypes (mapped, not copied) and convert per take.
  if (matrix_dtype == DType::F32) opts.dtype = DType::F32;
  io::Loaded loaded = io::load(path_or_folder, opts);
  std::map<std::string, Tensor> m;
  for (auto& [name, t] : loaded.tensors) m.emplace(name, t);
  return Weights(std::move(m), path_or_folder, matrix_dtype);
}

Tensor Weights::take(const std::string& name, const Shape& shape) { return take_as(name, shape, DType::F32); }

Tensor Weights::take_matrix(const std::string& name, const Shape& shape) { return take_as(name, shape, matrix_dtype_); }

Tensor Weights::take_as(const std::string& name, const Shape& shape, DType dtype) {
  auto it = tensors_.find(name);
  VLV_CHECK(it != tensors_.end(), ErrorCode::FileFormat, source_, ": weight '", name, "' is missing");
  Tensor& t = it->second;
  VLV_CHECK(t.shape() == shape, ErrorCode::FileFormat, source_, ": weight '", name, "' is ", t.desc(), ", the config needs ",
            shape_str(shape));
  if (t.dtype() != dtype) t = t.to(dtype);
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
