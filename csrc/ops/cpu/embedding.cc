// embedding: STUB, to be replaced by the real kernels.
#include "ops/kernel.h"

namespace vlv::cpu {

Tensors embedding(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "embedding: not implemented"); }
Tensors embedding_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "embedding: backward not implemented"); }
Tensors rope(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "rope: not implemented"); }
Tensors rope_backward(const BackwardArgs&) { fail(ErrorCode::Internal, "rope: backward not implemented"); }
Tensors timestep_embedding(const Tensors&, const Attrs&, Saved*) { fail(ErrorCode::Internal, "timestep_embedding: not implemented"); }

}  // namespace vlv::cpu
