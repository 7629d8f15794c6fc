// The autograd state a tensor carries, seen from core: whether it requires grad, its
// accumulated gradient, and the recorded op that made it. The op record (Node) is the tape's
// type (autograd/autograd.h) and opaque here, so core never depends on the layers above it.
#pragma once
#include <memory>
#include <mutex>

#include "core/tensor.h"

namespace vlv {

struct Node;  // autograd/autograd.h

struct AutogradMeta {
  std::mutex mu;
  bool requires_grad = false;
  Tensor grad;                    // accumulated on leaves
  std::shared_ptr<Node> grad_fn;  // set on outputs of recorded ops
  int output_index = 0;
};

}  // namespace vlv
