#include "ops/dispatch.h"

#include "autograd/autograd.h"
#include "core/call_context.h"

namespace vlv {

namespace {
const KernelTable* g_cuda = nullptr;
}  // namespace

const KernelTable& kernel_table(Device d, const char* op) {
  if (d == Device::CPU) return cpu_kernels();
  VLV_CHECK(g_cuda, ErrorCode::Device, op, ": the CUDA backend is not loaded (see info())");
  return *g_cuda;
}

void set_cuda_kernels(const KernelTable* table) { g_cuda = table; }

Tensors call_on(Device device, OpId op, const Attrs& attrs_in) {
  const OpInfo& info = op_info(op);
  throw_if_cancelled();
  Attrs attrs = attrs_in;
  attrs.op_name = info.name;
  return kernel_table(device, info.name).forward[int(op)]({}, attrs, nullptr);
}

Tensors call(OpId op, const Tensors& inputs, const Attrs& attrs_in) {
  const OpInfo& info = op_info(op);
  throw_if_cancelled();
  if (info.inputs >= 0)
    VLV_CHECK(int(inputs.size()) <= info.inputs, ErrorCode::Arg, info.name, ": takes at most ", info.inputs,
              " tensor inputs, got ", inputs.size());
  Device device = Device::CPU;
  bool first = true, any_requires_grad = false;
  for (const Tensor& t : inputs) {
    if (!t.defined()) continue;
    if (first) device = t.device();
    VLV_CHECK(t.device() == device, ErrorCode::Device, info.name, ": inputs on different devices (",
              device_name(device), " and ", device_name(t.device()), ")");
    first = false;
    any_requires_grad = any_requires_grad || t.requires_grad();
  }
  Attrs attrs = attrs_in;
  attrs.op_name = info.name;
  const KernelTable& table = kernel_table(device, info.name);

  bool record = info.has_backward && any_requires_grad && grad_enabled();
  if (!record) return table.forward[int(op)](inputs, attrs, nullptr);

  Saved saved;
  Tensors outputs = table.forward[int(op)](inputs, attrs, &saved);
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
  return outputs;
}

}  // namespace vlv
