// Activations over arrays, vectorised (AVX-512; scalar activation_math.h elsewhere):
//   apply_array: out[i] = f(in[i])               (in == out allowed)
//   grad_array:  gin[i] = gout[i] * f'(pre[i])
// for f in act::Activation (None copies / passes gout through). Used by linear's epilogue and
// backward (gemm.cc); written for the standalone activation ops too.
#pragma once
#include <cstdint>

#include "ops/cpu/activation_math.h"

namespace vlv::cpu::act {

void apply_array(Activation a, const float* in, float* out, int64_t n);
void grad_array(Activation a, const float* pre, const float* gout, float* gin, int64_t n);

}  // namespace vlv::cpu::act
