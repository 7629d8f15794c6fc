// The tape. An op on tensors that require grad (with grad mode on) records a Node holding
// its inputs, detached outputs, saved tensors and attrs; backward() walks the nodes in
// reverse topological order and accumulates gradients into the leaves' .grad.
#pragma once
#include <memory>
#include <mutex>

#include "core/tensor.h"
#include "ops/attrs.h"
#include "ops/ops.h"

namespace vlv {

struct Node {
  OpId op;
  Attrs attrs;
  Tensors inputs;   // with their autograd state: the edges of the graph
  Tensors outputs;  // detached (no cycle back to this node)
  Tensors saved;
  Device device;
};

struct AutogradMeta {
  std::mutex mu;
  bool requires_grad = false;
  Tensor grad;                     // accumulated on leaves
  std::shared_ptr<Node> grad_fn;   // set on outputs of recorded ops
  int output_index = 0;
};

// Grad mode is per thread: each async call sets it for the worker running it.
bool grad_enabled();
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled);
  ~GradModeGuard();
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

// d(root)/d(leaves): grad_root defaults to ones for a one-element root. Gradients add into
// the .grad of every leaf that requires grad. The graph is kept (it is freed with its
// tensors), so backward may run again on the same root.
void backward(const Tensor& root, const Tensor& grad_root = Tensor());
// Several roots at once: the sum of their backward passes, each graph node visited once.
void backward(const Tensors& roots, const Tensors& grad_roots);

}  // namespace vlv
