// Expands the op lists (ops.h) into the name table and the CPU kernel table (forward kernels
// of both lists; the backward rules are ops/grad's).
#include <cstring>

#include "core/backend.h"
#include "ops/kernel.h"

namespace vlv {

namespace {
const OpInfo kOpInfo[] = {
#define VLV_OP_INFO(name, inputs, bwd, family) {#name, inputs, bwd != 0, #family, false},
    VLV_OPS(VLV_OP_INFO)
#undef VLV_OP_INFO
#define VLV_GRAD_KERNEL_INFO(name, inputs, bwd, family) {#name, inputs, false, #family, true},
        VLV_GRAD_KERNELS(VLV_GRAD_KERNEL_INFO)
#undef VLV_GRAD_KERNEL_INFO
};
static_assert(sizeof(kOpInfo) / sizeof(kOpInfo[0]) == size_t(kNumOps), "one OpInfo per OpId");

KernelTable make_cpu_table() {
  KernelTable t{};
#define VLV_CPU_ENTRY(name, inputs, bwd, family) t.forward[int(OpId::name)] = &cpu::name;
  VLV_ALL_OPS(VLV_CPU_ENTRY)
#undef VLV_CPU_ENTRY
  return t;
}
}  // namespace

const OpInfo& op_info(OpId id) { return kOpInfo[int(id)]; }

OpId op_from_name(const char* name) {
  for (int i = 0; i < kNumUserOps; ++i)  // the fused backward kernels are internal
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
