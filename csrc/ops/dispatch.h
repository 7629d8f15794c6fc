// call(): runs an op on the inputs' device. When an input requires grad, grad mode is on and
// the op has a backward rule, the call is handed to the recorder that the autograd layer
// installs (the tape lives above ops; this hook is how ops reaches it without including it).
#pragma once
#include "ops/kernel.h"

namespace vlv {

Tensors call(OpId op, const Tensors& inputs, const Attrs& attrs = {});
// An op with no tensor inputs (randn, rand) on a chosen device; nothing to record.
Tensors call_on(Device device, OpId op, const Attrs& attrs = {});

// The kernels for a device; E_DEVICE when its backend is not loaded.
const KernelTable& kernel_table(Device device, const char* op);

// Records a call that ran with `saved` (the autograd layer's record()).
using Recorder = void (*)(OpId op, const Attrs& attrs, const Tensors& inputs, Saved&& saved, Tensors& outputs,
                          Device device);
void set_recorder(Recorder recorder);

}  // namespace vlv
