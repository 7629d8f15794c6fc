// Positional inputs of a kernel call: `in` may be shorter than the op's arity, and an
// optional input may be undefined; input(in, i) is an undefined Tensor in both cases.
#pragma once
#include "core/tensor.h"

namespace vlv::cpu {

inline const Tensor& input(const Tensors& in, size_t i) {
  static const Tensor kNone;
  return i < in.size() ? in[i] : kNone;
}

}  // namespace vlv::cpu
