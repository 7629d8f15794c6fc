#include "autograd/autograd.h"

#include <unordered_map>
#include <vector>

#include "ops/dispatch.h"
#include "ops/grad/grad.h"

namespace vlv {

namespace {
Tensor accumulate(const Tensor& acc, const Tensor& g) {
  if (!acc.defined()) return g;
  return call(OpId::add, {acc, g})[0];
}
}  // namespace

// Makes a Node of a call the dispatcher ran with `saved` and hangs it on the outputs.
void record(OpId op, const Attrs& attrs, const Tensors& inputs, Saved&& saved, Tensors& outputs, Device device) {
  auto node = std::make_shared<Node>();
  node->op = op;
  node->attrs = attrs;
  node->inputs = inputs;
  node->saved = std::move(saved);
  node->device = device;
  node->outputs.reserve(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    node->outputs.push_back(outputs[i].detach());
    if (!is_floating(outputs[i].dtype())) continue;
    Tensor& out = outputs[i];
    out.mutable_meta() = std::make_shared<AutogradMeta>();
    out.mutable_meta()->requires_grad = true;
    out.mutable_meta()->grad_fn = node;
    out.mutable_meta()->output_index = int(i);
  }
}

const bool kRecorderInstalled = (set_recorder(&record), true);

void backward(const Tensor& root, const Tensor& grad_root) { backward(Tensors{root}, Tensors{grad_root}); }

void backward(const Tensors& roots, const Tensors& grad_roots_in) {
  VLV_CHECK(roots.size() == grad_roots_in.size() || grad_roots_in.empty(), ErrorCode::Arg, "backward: ", roots.size(),
            " roots but ", grad_roots_in.size(), " gradients");
  GradModeGuard no_grad(false);
  std::unordered_map<Node*, int> deps;
  std::unordered_map<Node*, Tensors> pending;  // gradient per output of each node
  auto add_grad = [&](Node* n, int index, const Tensor& g) {
    Tensors& slot = pending[n];
    if (slot.empty()) slot.resize(n->outputs.size());
    slot[size_t(index)] = accumulate(slot[size_t(index)], g);
  };
  auto add_leaf_grad = [](AutogradMeta* meta, const Tensor& g) {
    std::lock_guard<std::mutex> lock(meta->mu);
    meta->grad = accumulate(meta->grad, g);
  };

  std::vector<Node*> stack;
  for (size_t r = 0; r < roots.size(); ++r) {
    const Tensor& root = roots[r];
    VLV_CHECK(root.defined(), ErrorCode::Arg, "backward: undefined tensor");
    VLV_CHECK(root.requires_grad(), ErrorCode::Arg,
              "backward: the tensor does not require grad (no input of its ops required grad)");
    Tensor g = grad_roots_in.empty() ? Tensor() : grad_roots_in[r];
    if (!g.defined()) {
      VLV_CHECK(root.numel() == 1, ErrorCode::Shape, "backward: a gradient is needed for the non-scalar ", root.desc());
      g = Tensor::full(root.shape(), 1.0f).to(root.device());
    }
    VLV_CHECK(g.shape() == root.shape(), ErrorCode::Shape, "backward: gradient ", g.desc(), " does not match ",
              root.desc());
    Node* n = root.meta()->grad_fn.get();
    if (!n) {
      add_leaf_grad(root.meta().get(), g);
      continue;
    }
    if (!deps.count(n)) {
      deps[n] = 0;
      stack.push_back(n);
    }
    add_grad(n, root.meta()->output_index, g);
  }
  std::vector<Node*> roots_nodes = stack;

  // Count, for every node reachable from the roots, how many edges lead into it.
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Tensor& in : n->inputs) {
      if (!in.defined() || !in.meta() || !in.meta()->grad_fn) continue;
      Node* next = in.meta()->grad_fn.get();
      auto it = deps.find(next);
      if (it == deps.end()) {
        deps[next] = 1;
        stack.push_back(next);
      } else {
        ++it->second;
      }
    }
  }

  std::vector<Node*> ready;
  for (Node* n : roots_nodes)
    if (deps[n] == 0) ready.push_back(n);
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    Tensors grad_outputs = std::move(pending[n]);
    pending.erase(n);
    grad_outputs.resize(n->outputs.size());
    std::vector<bool> needs(n->inputs.size());
    bool any = false;
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      needs[i] = n->inputs[i].defined() && n->inputs[i].requires_grad();
      any = any || needs[i];
    }
    Tensors grads;
    if (any) {
      BackwardFn rule = grad_rule(n->op);  // one rule per op, whatever the device (ops/grad)
      VLV_CHECK(rule, ErrorCode::Internal, op_info(n->op).name, " has no backward rule");
      BackwardArgs args{n->inputs, n->outputs, n->saved, n->attrs, grad_outputs, needs};
      grads = rule(args);
    }
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      const Tensor& in = n->inputs[i];
      if (!in.defined() || !in.meta()) continue;
      Node* next = in.meta()->grad_fn.get();
      if (needs[i] && i < grads.size() && grads[i].defined()) {
        VLV_CHECK(grads[i].shape() == in.shape(), ErrorCode::Internal, op_info(n->op).name,
                  " backward gave a gradient ", grads[i].desc(), " for input ", in.desc());
        if (next) add_grad(next, in.meta()->output_index, grads[i]);
        else if (in.meta()->requires_grad) add_leaf_grad(in.meta().get(), grads[i]);
      }
      if (next && --deps[next] == 0) ready.push_back(next);
    }
  }
}

}  // namespace vlv
