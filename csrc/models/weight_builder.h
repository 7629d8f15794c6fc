// WeightBuilder: a view of a checkpoint (Weights) at one module path, as candle's VarBuilder.
// A module is handed the builder of its own path and takes its tensors by their local names;
// every tensor taken is registered under its full path, and that registration is the model's
// parameters() (so each key path is written once, where the tensor is loaded).
//
//   WeightBuilder block = vb.at("down_blocks").at(0);        // "down_blocks.0."
//   Tensor w = block.take("conv1.weight", {out, in, 3, 3});  // "down_blocks.0.conv1.weight"
//   Linear proj = Linear::load(block.at("proj"), in, out);   // "down_blocks.0.proj.{weight,bias}"
//
// The Weights semantics are unchanged: strict (load_model rejects any checkpoint key no
// module took), take_matrix hands out the load's matrix dtype, Weights::random initialises
// each tensor from its full name, tensors land on the load's device.
#pragma once
#include <cstdint>
#include <string>

#include "models/weights.h"

namespace vlv::models {

using NamedTensors = std::map<std::string, Tensor>;

class WeightBuilder {
 public:
  // The root builder: takes from `weights`, registers into `params` (both outlive it).
  WeightBuilder(Weights& weights, NamedTensors& params) : weights_(&weights), params_(&params) {}

  // A builder that takes from the same place but registers into `params` under names relative
  // to this path: a part of a composite model built as a model of its own.
  WeightBuilder rooted_into(NamedTensors& params) const { return WeightBuilder(weights_, &params, prefix_, ""); }

  // The builder of a sub-module: "name." (or "index.") appended to the path.
  WeightBuilder at(const std::string& name) const;
  WeightBuilder at(int64_t index) const { return at(std::to_string(index)); }
  WeightBuilder at(size_t index) const { return at(std::to_string(index)); }
  WeightBuilder at(int index) const { return at(std::to_string(index)); }

  // The full key of a local name; the path itself (without the trailing '.') for "".
  std::string key(const std::string& name = "") const;
  // Whether the checkpoint holds that tensor (false for every name with random weights).
  bool has(const std::string& name) const { return weights_->has(key(name)); }
  // The checkpoint's shape of that tensor (E_FILE_FORMAT when missing).
  Shape shape_of(const std::string& name) const { return weights_->shape_of(key(name)); }

  // The tensor (f32) of that shape, registered as a parameter under its full key.
  Tensor take(const std::string& name, const Shape& shape) const;
  // The same for a matrix read only by the linear / embedding ops (the load's matrix dtype).
  Tensor take_matrix(const std::string& name, const Shape& shape) const;
  // A stored copy of a tied tensor: marked used, not registered (the model computes with
  // the tensor it ties to). The caller checks it agrees.
  Tensor take_unlisted(const std::string& name, const Shape& shape) const;
  // Registers an already taken tensor under another name too (tied weights: one tensor,
  // several reference names, as torch's state_dict lists them).
  void alias(const std::string& name, const Tensor& t) const;

  // The checkpoint, for messages.
  const std::string& source() const { return weights_->source(); }

 private:
  WeightBuilder(Weights* w, NamedTensors* p, std::string prefix, std::string registered_prefix)
      : weights_(w), params_(p), prefix_(std::move(prefix)), registered_prefix_(std::move(registered_prefix)) {}
  Tensor registered(const std::string& name, Tensor t) const;

  Weights* weights_;
  NamedTensors* params_;
  std::string prefix_;             // "" or ending in '.': where tensors are looked up
  std::string registered_prefix_;  // the same path as the parameters are named (differs under rooted_into)
};

}  // namespace vlv::models
