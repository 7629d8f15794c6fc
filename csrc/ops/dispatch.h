// call(): runs an op on the inputs' device and records it on the tape when needed.
#pragma once
#include "ops/kernel.h"

namespace vlv {

Tensors call(OpId op, const Tensors& inputs, const Attrs& attrs = {});
// An op with no tensor inputs (randn, rand) on a chosen device; nothing to record.
Tensors call_on(Device device, OpId op, const Attrs& attrs = {});

// The kernels for a device; E_DEVICE when its backend is not loaded.
const KernelTable& kernel_table(Device device, const char* op);

// The CUDA backend registers its table here when it loads.
void set_cuda_kernels(const KernelTable* table);

}  // namespace vlv
