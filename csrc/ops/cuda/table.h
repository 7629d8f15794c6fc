// Every CUDA kernel of the addon-side table, declared from both op lists as the CPU's are
// (kernel.h): cudaops::add, ..., cudaops::softmax_backward, ... A missing one is a link
// error. The backward rules are device-independent (ops/grad).
#pragma once
#include <string>

#include "ops/kernel.h"

namespace vlv::cudaops {
#define VLV_CUDA_DECL(name, inputs, bwd, family) Tensors name(const Tensors& inputs_, const Attrs& attrs, Saved* saved);
VLV_ALL_OPS(VLV_CUDA_DECL)
#undef VLV_CUDA_DECL

// Linear's activation names as VLV_CUDA_ACT_* (activation.cc; linear and activation_backward).
int activation_code(const std::string& name, const char* op);
}  // namespace vlv::cudaops
