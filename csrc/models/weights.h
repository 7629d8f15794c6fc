// Weights: the tensors of a checkpoint by their reference names. A model takes each by
// name and expected shape; unused() lists what no module claimed (an error for loaders, so
// a renamed or misplaced key never goes unnoticed).
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace vlv::models {

class Weights {
 public:
  Weights() = default;
  Weights(std::map<std::string, Tensor> tensors, std::string source);
  static Weights load(const std::string& path_or_folder);  // any safetensors layout, as f32

  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  // The tensor (f32, frozen: requires_grad false) with that name and shape; E_FILE_FORMAT
  // naming the checkpoint if it is missing or shaped otherwise.
  Tensor take(const std::string& name, const Shape& shape);
  std::vector<std::string> unused() const;
  void check_all_used() const;  // E_FILE_FORMAT listing unused names
  const std::string& source() const { return source_; }

 private:
  std::map<std::string, Tensor> tensors_;
  std::set<std::string> used_;
  std::string source_;
};

}  // namespace vlv::models
