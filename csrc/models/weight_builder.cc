#include "models/weight_builder.h"

namespace vlv::models {

WeightBuilder WeightBuilder::at(const std::string& name) const {
  VLV_CHECK(!name.empty(), ErrorCode::Internal, "WeightBuilder::at: empty module name under '", key(), "'");
  return WeightBuilder(weights_, params_, prefix_ + name + ".", registered_prefix_ + name + ".");
}

std::string WeightBuilder::key(const std::string& name) const {
  if (!name.empty()) return prefix_ + name;
  return prefix_.empty() ? prefix_ : prefix_.substr(0, prefix_.size() - 1);
}

Tensor WeightBuilder::registered(const std::string& name, Tensor t) const {
  const std::string k = registered_prefix_ + name;
  VLV_CHECK(params_->emplace(k, t).second, ErrorCode::Internal, source(), ": parameter '", k, "' registered twice");
  return t;
}

Tensor WeightBuilder::take(const std::string& name, const Shape& shape) const {
  return registered(name, weights_->take(key(name), shape));
}

Tensor WeightBuilder::take_matrix(const std::string& name, const Shape& shape) const {
  return registered(name, weights_->take_matrix(key(name), shape));
}

Tensor WeightBuilder::take_unlisted(const std::string& name, const Shape& shape) const {
  return weights_->take(key(name), shape);
}

void WeightBuilder::alias(const std::string& name, const Tensor& t) const { registered(name, t); }

}  // namespace vlv::models
