// Addon-side helpers for the CUDA kernel table (csrc/ops/cuda_*.cc): the library's C API,
// status codes turned into vlv::Error, CUDA tensors over the library's caching allocator,
// host<->device copies, and the views the strided kernels take.
#pragma once
#include <vector>

#include "cuda/abi.h"
#include "ops/kernel.h"

namespace vlv::cudaops {

// The library's table once it loaded and a device answered (ops/cuda/device.cc), else null.
const VlvCudaApi* loaded_api();
// The same, or E_DEVICE when the backend is not loaded.
const VlvCudaApi& api();
// Throws the vlv::Error of a failed call: E_OOM, E_DEVICE or E_ARG, message "op: ...".
void ck(int rc, const char* op);

Tensor empty(const Shape& shape, DType dtype);  // on the CUDA device
Tensor zeros(const Shape& shape, DType dtype);

int dt(DType d);                                                          // VLV_CUDA_* code
void check_cuda_float(const Tensor& t, const char* op, const char* arg);  // f32, bf16 or f16
std::vector<int64_t> strides_of(const Shape& shape);                      // contiguous element strides
VlvCudaView view(const Shape& shape, const std::vector<int64_t>& strides, const char* op);

// Sums x over the dims where reduce[d], times scale; the result has x's shape with those
// dims removed (or set to 1 with keepdim). f32 or x's dtype.
Tensor reduce(const Tensor& x, const std::vector<bool>& reduce, float scale, bool keepdim, DType out);
// x broadcast (NumPy) to `shape`, materialised.
Tensor expand(const Tensor& x, const Shape& shape);
Tensor cast_to(const Tensor& x, DType d);  // a copy converted (or x if equal)

inline const Tensor& input(const Tensors& in, size_t i) {
  static const Tensor kNone;
  return i < in.size() ? in[i] : kNone;
}

// The CUDA kernel table, built once (table.cc).
const KernelTable& kernels();

}  // namespace vlv::cudaops
