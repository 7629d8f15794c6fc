// The tape. An op on tensors that require grad (with grad mode on) records a Node holding
// its inputs, detached outputs, saved tensors and attrs: the dispatcher (ops/dispatch.h)
// hands every such call to the recorder this layer installs. backward() walks the nodes in
// reverse topological order, runs each op's backward rule (ops/grad) and accumulates
// gradients into the leaves' .grad.
#pragma once
#include <memory>

#include "core/autograd_meta.h"
#include "core/grad_mode.h"
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

// d(root)/d(leaves): grad_root defaults to ones for a one-element root. Gradients add into
// the .grad of every leaf that requires grad. The graph is kept (it is freed with its
// tensors), so backward may run again on the same root.
void backward(const Tensor& root, const Tensor& grad_root = Tensor());
// Several roots at once: the sum of their backward passes, each graph node visited once.
void backward(const Tensors& roots, const Tensors& grad_roots);

}  // namespace vlv
