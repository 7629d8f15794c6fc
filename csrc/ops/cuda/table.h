// Every CUDA kernel and backward rule of the addon-side table, declared from the op list as
// the CPU's are (kernel.h): cudaops::add, cudaops::add_backward, ... A missing one is a link
// error.
#pragma once
#include <string>

#include "ops/kernel.h"

namespace vlv::cudaops {
#define VLV_CUDA_BWD_DECL_1(name) Tensors name##_backward(const BackwardArgs& args);
#define VLV_CUDA_BWD_DECL_0(name)
#define VLV_CUDA_DECL(name, inputs, bwd, family)                             \
  Tensors name(const Tensors& inputs_, const Attrs& attrs, Saved* saved); \
  VLV_CUDA_BWD_DECL_##bwd(name)
VLV_OPS(VLV_CUDA_DECL)
#undef VLV_CUDA_DECL
#undef VLV_CUDA_BWD_DECL_1
#undef VLV_CUDA_BWD_DECL_0

// Shared by the activation and linear rules (cuda_elementwise.cc).
int activation_code(const std::string& name, const char* op);
Tensor act_backward(int code, const Tensor& x, const Tensor& gy);
}  // namespace vlv::cudaops
