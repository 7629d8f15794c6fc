// The library's entry points as C++ functions (vlv::cuda::name), declared from the ABI list
// (abi.h: VLV_CUDA_API); the device layer defines its own in device.cu, each kernel family in
// its ops/cuda/kernels/<family>.cu. A declared entry nobody defines is a link error.
#pragma once
#include "cuda/abi.h"

namespace vlv::cuda {
#define VLV_CUDA_DECLARE(ret, name, params) ret name params;
VLV_CUDA_API(VLV_CUDA_DECLARE)
#undef VLV_CUDA_DECLARE
}  // namespace vlv::cuda
