// The elementwise ops' arguments, read once for every backend: NumPy broadcasting, and which
// unary op a unary gradient kernel serves.
#pragma once
#include "core/tensor.h"
#include "ops/attrs.h"
#include "ops/ops.h"

namespace vlv {

// The NumPy broadcast of a and b; E_SHAPE naming `op` and both shapes when they do not fit.
Shape broadcast_shape(const Shape& a, const Shape& b, const char* op);

// The unary op a gradient kernel serves: attrs.op, a name of VLV_UNARY_OPS (E_ARG otherwise).
UnaryOp unary_op(const Attrs& attrs);

}  // namespace vlv
