// The CUDA KernelTable: every op of both lists (ops.h), from the declarations in table.h
// (defined in the ops/cuda/<family>.cc files).
#include "ops/cuda/table.h"
#include "ops/cuda/common.h"

namespace vlv::cudaops {

const KernelTable& kernels() {
  static const KernelTable table = [] {
    KernelTable t{};
#define VLV_CUDA_ENTRY(name, inputs, bwd, family) t.forward[int(OpId::name)] = &name;
    VLV_ALL_OPS(VLV_CUDA_ENTRY)
#undef VLV_CUDA_ENTRY
    return t;
  }();
  return table;
}

}  // namespace vlv::cudaops
