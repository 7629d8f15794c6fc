// random: STUB, to be replaced by the real kernels.
#include "ops/kernel.h"

namespace vlv::cpu {

Tensors randn(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "randn: not implemented"); }
Tensors rand(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "rand: not implemented"); }

}  // namespace vlv::cpu
