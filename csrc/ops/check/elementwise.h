// The elementwise ops' arguments, read once for every backend: NumPy broadcasting.
#pragma once
#include "core/tensor.h"

namespace vlv {

// The NumPy broadcast of a and b; E_SHAPE naming `op` and both shapes when they do not fit.
Shape broadcast_shape(const Shape& a, const Shape& b, const char* op);

}  // namespace vlv
