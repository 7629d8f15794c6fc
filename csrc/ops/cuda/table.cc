// The CUDA KernelTable: every op of the list, from the declarations in cuda_ops.h (defined
// in the cuda_*.cc files by family).
#include "ops/cuda/common.h"
#include "ops/cuda/table.h"

namespace vlv::cudaops {

const KernelTable& kernels() {
  static const KernelTable table = [] {
    KernelTable t{};
#define VLV_CUDA_BWD_1(name) t.backward[int(OpId::name)] = &name##_backward;
#define VLV_CUDA_BWD_0(name) t.backward[int(OpId::name)] = nullptr;
#define VLV_CUDA_ENTRY(name, inputs, bwd, family)       \
  t.forward[int(OpId::name)] = &name;           \
  VLV_CUDA_BWD_##bwd(name)
    VLV_OPS(VLV_CUDA_ENTRY)
#undef VLV_CUDA_ENTRY
#undef VLV_CUDA_BWD_1
#undef VLV_CUDA_BWD_0
    return t;
  }();
  return table;
}

}  // namespace vlv::cudaops
