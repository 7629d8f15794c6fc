#include "ops/dispatch.h"

#include "core/backend.h"
#include "core/call_context.h"
#include "core/grad_mode.h"

namespace vlv {

namespace {
Recorder g_recorder = nullptr;
}  // namespace

const KernelTable& kernel_table(Device d, const char* op) {
  VLV_CHECK(has_backend(d), ErrorCode::Device, op, ": the ", backend_label(d), " backend is not loaded (see info())");
  const KernelTable* table = backend(d).kernels();
  VLV_CHECK(table, ErrorCode::Device, op, ": the ", backend_label(d), " backend has no kernels installed");
  return *table;
}

void set_recorder(Recorder recorder) { g_recorder = recorder; }

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

  bool record = g_recorder && info.has_backward && any_requires_grad && grad_enabled();
  if (!record) return table.forward[int(op)](inputs, attrs, nullptr);

  Saved saved;
  Tensors outputs = table.forward[int(op)](inputs, attrs, &saved);
  g_recorder(op, attrs, inputs, std::move(saved), outputs, device);
  return outputs;
}

}  // namespace vlv
