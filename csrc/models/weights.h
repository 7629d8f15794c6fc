// Weights: the tensors of a checkpoint by their reference names. A model takes each by
// name and expected shape (through a WeightBuilder at its module path, weight_builder.h,
// which also registers it as a parameter); unused() lists what no module claimed (an error for loaders, so
// a renamed or misplaced key never goes unnoticed).
// Weights loaded with a 16-bit matrix dtype (bf16 / f16) hand out the matrices that only the
// linear and embedding ops read (take_matrix) in that dtype, halving their memory; every
// other tensor (norms, biases, ...) is f32 as always.
// Weights::random(seed) holds no tensors: take() makes each one from its name and shape
// instead (random_init), so any architecture can be built from its config alone (benchmarks
// at real sizes without the checkpoint); has() is false for every name there.
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
  Weights(std::map<std::string, Tensor> tensors, std::string source, DType matrix_dtype = DType::F32);
  // Any safetensors layout, a torch.save file (*.pt, *.pth, *.bin, *.ckpt: read weights-only,
  // io/torch_checkpoint.h), or a folder whose only weights are pytorch_model.bin /
  // diffusion_pytorch_model.bin. matrix_dtype: F32, BF16 or F16 (the dtype take_matrix gives).
  static Weights load(const std::string& path_or_folder, DType matrix_dtype = DType::F32);
  // Every take() is random_init; take_matrix() casts to matrix_dtype as a load would.
  static Weights random(uint64_t seed, std::string source, DType matrix_dtype = DType::F32);

  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  // The stored shape of `name` (E_FILE_FORMAT when missing): for modules whose widths the
  // checkpoint decides.
  Shape shape_of(const std::string& name) const;
  // Replaces tensors by name with `overlay`'s (a training checkpoint's trainable weights over
  // the base checkpoint): each must exist here with the same shape (E_FILE_FORMAT naming it).
  void overlay(const Weights& overlay);
  // Whether any tensor's name starts with `prefix`.
  bool has_prefix(const std::string& prefix) const;
  // Every name under `prefix` counts as used: a part of a composite checkpoint that the caller
  // chose not to build (check_all_used then ignores it).
  void skip_prefix(const std::string& prefix);
  // The tensor (f32, frozen: requires_grad false) with that name and shape; E_FILE_FORMAT
  // naming the checkpoint if it is missing or shaped otherwise.
  Tensor take(const std::string& name, const Shape& shape);
  // Every tensor taken from now on is copied to `device` (E_DEVICE when it is not usable).
  void set_device(Device device) { device_ = device; }
  // The same for a matrix read only by the linear / embedding ops: in the load's matrix dtype.
  Tensor take_matrix(const std::string& name, const Shape& shape);
  std::vector<std::string> unused() const;
  void check_all_used() const;  // E_FILE_FORMAT listing unused names
  const std::string& source() const { return source_; }

 private:
  std::map<std::string, Tensor> tensors_;
  std::set<std::string> used_;
  std::string source_;
  DType matrix_dtype_ = DType::F32;
  Device device_ = Device::CPU;

  Tensor take_as(const std::string& name, const Shape& shape, DType dtype);
  Tensor on_device(const Tensor& t) const;
  bool random_ = false;
  uint64_t seed_ = 0;
};

// A seeded initial value for the parameter `name` of `shape` (f32, frozen): 1-D "*weight"
// (norm scales) ones, "*bias" zeros, names with "embed" N(0, 0.02^2), other tensors of rank
// >= 2 (matrices, convolutions) N(0, 1/fan_in) with fan_in = prod(shape[1:]), anything else
// N(0, 0.02^2). The numbers are Philox randn under a seed mixed from `seed` and the name, so a
// parameter's values do not depend on the order the model takes them in.
Tensor random_init(const std::string& name, const Shape& shape, uint64_t seed);

}  // namespace vlv::models
