#include "models/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace vlv::models {

KvCache::KvCache(int64_t layers, int64_t rows, int64_t kv_heads, int64_t capacity, int64_t head_dim)
    : layers_(layers),
      rows_(rows),
      heads_(kv_heads),
      capacity_(capacity),
      dim_(head_dim),
      valid_(size_t(rows * capacity), 0) {
  for (int64_t l = 0; l < layers; ++l) {
    k_.push_back(Tensor::zeros({rows, kv_heads, capacity, head_dim}, DType::F32));
    v_.push_back(Tensor::zeros({rows, kv_heads, capacity, head_dim}, DType::F32));
  }
}

void KvCache::write(int64_t layer, int64_t at, const Tensor& k, const Tensor& v) {
  VLV_CHECK(layer >= 0 && layer < layers_, ErrorCode::Internal, "kv_cache: layer ", layer, " out of range");
  VLV_CHECK(k.device() == Device::CPU && k.dtype() == DType::F32 && k.dim() == 4 && k.shape() == v.shape() &&
                k.size(1) == heads_ && k.size(3) == dim_ && k.size(0) > 0 && rows_ % k.size(0) == 0,
            ErrorCode::Internal, "kv_cache: cannot store ", k.desc(), " / ", v.desc(), " in rows of [", heads_, ", ",
            capacity_, ", ", dim_, "]");
  const int64_t t = k.size(2), repeat = rows_ / k.size(0);
  VLV_CHECK(at >= 0 && at + t <= length_, ErrorCode::Internal, "kv_cache: positions [", at, ", ", at + t,
            ") were not reserved (", length_, " are)");
  const size_t span = size_t(t * dim_) * sizeof(float);
  for (const auto& [src, dst] : {std::pair{&k, &k_[size_t(layer)]}, std::pair{&v, &v_[size_t(layer)]}}) {
    const float* s = src->data<float>();
    float* d = dst->data<float>();
    for (int64_t n = 0; n < rows_; ++n)
      for (int64_t h = 0; h < heads_; ++h)
        std::memcpy(d + ((n * heads_ + h) * capacity_ + at) * dim_, s + ((n / repeat) * heads_ + h) * t * dim_, span);
  }
}

int64_t KvCache::advance(int64_t t, const std::vector<uint8_t>& valid) {
  VLV_CHECK(length_ + t <= capacity_, ErrorCode::Internal, "kv_cache: advancing past the capacity");
  const int64_t given = int64_t(valid.size()) / std::max<int64_t>(t, 1);
  VLV_CHECK(valid.empty() || (given > 0 && rows_ % given == 0 && given * t == int64_t(valid.size())),
            ErrorCode::Internal, "kv_cache: validity of ", valid.size(), " entries for ", t, " positions");
  for (int64_t n = 0; n < rows_; ++n)
    for (int64_t j = 0; j < t; ++j)
      valid_[size_t(n * capacity_ + length_ + j)] = valid.empty() ? 1 : valid[size_t((n / (rows_ / given)) * t + j)];
  length_ += t;
  return length_ - t;
}

Tensor KvCache::key_mask() const {
  Tensor m = Tensor::empty({rows_, 1, 1, capacity_}, DType::Bool);
  std::memcpy(m.raw(), valid_.data(), valid_.size());
  return m;
}

void KvCache::reorder(const std::vector<int64_t>& src) {
  VLV_CHECK(int64_t(src.size()) == rows_, ErrorCode::Internal, "kv_cache: reorder needs ", rows_, " indices");
  bool identity = true;
  for (int64_t n = 0; n < rows_; ++n) {
    VLV_CHECK(src[size_t(n)] >= 0 && src[size_t(n)] < rows_, ErrorCode::Internal, "kv_cache: bad row ", src[size_t(n)]);
    identity = identity && src[size_t(n)] == n;
  }
  if (identity) return;
  // Only the filled prefix of each row moves.
  const size_t row = size_t(heads_ * capacity_ * dim_), head = size_t(capacity_ * dim_);
  const size_t used = size_t(length_ * dim_) * sizeof(float);
  for (std::vector<Tensor>* cache : {&k_, &v_})
    for (Tensor& t : *cache) {
      Tensor moved = Tensor::zeros(t.shape(), DType::F32);  // unfilled slots stay finite
      const float* s = t.data<float>();
      float* d = moved.data<float>();
      for (int64_t n = 0; n < rows_; ++n)
        for (int64_t h = 0; h < heads_; ++h)
          std::memcpy(d + size_t(n) * row + size_t(h) * head, s + size_t(src[size_t(n)]) * row + size_t(h) * head,
                      used);
      t = moved;
    }
  std::vector<uint8_t> valid(valid_.size());
  for (int64_t n = 0; n < rows_; ++n)
    std::memcpy(valid.data() + n * capacity_, valid_.data() + src[size_t(n)] * capacity_, size_t(capacity_));
  valid_ = std::move(valid);
}

}  // namespace vlv::models
