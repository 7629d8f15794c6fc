// The CUDA KernelTable: every op of the list, from the declarations in cuda_ops.h. attention,
// conv2d and the fused scheduler step belong to part 2 of the CUDA backend and throw
// E_DEVICE until then.
#include "ops/cuda_common.h"
#include "ops/cuda_ops.h"

namespace vlv::cudaops {

Tensors attention(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Device, "attention: not yet on CUDA"); }
Tensors attention_backward(const BackwardArgs&) { fail(ErrorCode::Device, "attention: not yet on CUDA"); }
Tensors conv2d(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Device, "conv2d: not yet on CUDA"); }
Tensors conv2d_backward(const BackwardArgs&) { fail(ErrorCode::Device, "conv2d: not yet on CUDA"); }
Tensors scheduler_step(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Device, "scheduler_step: not yet on CUDA"); }

const KernelTable& kernels() {
  static const KernelTable table = [] {
    KernelTable t{};
#define VLV_CUDA_BWD_1(name) t.backward[int(OpId::name)] = &name##_backward;
#define VLV_CUDA_BWD_0(name) t.backward[int(OpId::name)] = nullptr;
#define VLV_CUDA_ENTRY(name, inputs, bwd)       \
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
