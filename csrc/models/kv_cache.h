// KvCache: the keys and values of every decoder layer for N running sequences, allocated
// once for the whole generation ([N, Hkv, capacity, D] per layer) so a decoding step writes
// one new position in place instead of re-running or re-concatenating the prompt.
//
// Each sequence's filled positions carry a validity bit (left padding of a prompt is
// invalid); key_mask() turns them into the attention op's bool key mask, so a step attends
// over the whole capacity with the unfilled and padded slots masked out. Beam search moves
// whole sequences between rows with reorder(). CPU tensors only (writes are plain copies).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace vlv::models {

class KvCache {
 public:
  KvCache(int64_t layers, int64_t rows, int64_t kv_heads, int64_t capacity, int64_t head_dim);

  int64_t rows() const { return rows_; }
  int64_t length() const { return length_; }  // positions filled so far (the same for every row)
  int64_t capacity() const { return capacity_; }

  // Reserves the next T positions (once per step, before the layers write them) and returns
  // the first. valid: [R, T] (1 = a real token; R as in write) or empty for all valid.
  int64_t advance(int64_t t, const std::vector<uint8_t>& valid = {});
  // Writes k, v [R, Hkv, T, D] at reserved positions [at, at + T) of `layer`. R may be rows()
  // or rows() / repeat for a prompt shared by `repeat` consecutive rows (beams, samples).
  void write(int64_t layer, int64_t at, const Tensor& k, const Tensor& v);

  const Tensor& keys(int64_t layer) const { return k_[size_t(layer)]; }
  const Tensor& values(int64_t layer) const { return v_[size_t(layer)]; }
  // bool [rows, 1, 1, capacity]: true where a key was written and is a real token.
  Tensor key_mask() const;

  // Row n becomes a copy of the old row src[n] (every layer, keys, values, validity).
  void reorder(const std::vector<int64_t>& src);

 private:
  int64_t layers_, rows_, heads_, capacity_, dim_, length_ = 0;
  std::vector<Tensor> k_, v_;
  std::vector<uint8_t> valid_;  // [rows, capacity]
};

}  // namespace vlv::models
