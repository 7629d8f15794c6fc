// Expands the op list into the name table and the CPU kernel table.
#include <cstring>

#include "core/backend.h"
#include "ops/kernel.h"

namespace vlv {

namespace {
const OpInfo kOpInfo[] = {
#define VLV_OP_INFO(name, inputs, bwd, family) {#name, inputs, bwd != 0, #family},
    VLV_OPS(VLV_OP_INFO)
#undef VLV_OP_INFO
};

#define VLV_BWD_PTR_1(name) &cpu::name##_backward
#define VLV_BWD_PTR_0(name) nullptr
KernelTable make_cpu_table() {
  KernelTable t{};
#define VLV_CPU_ENTRY(name, inputs, bwd, family)             \
  t.forward[int(OpId::name)] = &cpu::name;           \
  t.backward[int(OpId::name)] = VLV_BWD_PTR_##bwd(name);
  VLV_OPS(VLV_CPU_ENTRY)
#undef VLV_CPU_ENTRY
  return t;
}
}  // namespace

const OpInfo& op_info(OpId id) { return kOpInfo[int(id)]; }

OpId op_from_name(const char* name) {
  for (int i = 0; i < kNumOps; ++i)
    if (!std::strcmp(kOpInfo[i].name, name)) return OpId(i);
  fail(ErrorCode::Arg, "unknown op '", name, "'");
}

const KernelTable& cpu_kernels() {
  static const KernelTable table = make_cpu_table();
  return table;
}

namespace {
const bool kCpuKernelsInstalled = (backend(Device::CPU).set_kernels(&cpu_kernels()), true);
}  // namespace

}  // namespace vlv
