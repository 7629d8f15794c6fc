// CUDA kernel table, random numbers (kernels: kernels/random.cu): randn / rand, the CPU's
// Philox stream on the device.
#include "ops/check/embedding.h"
#include "ops/cuda/common.h"
#include "ops/cuda/table.h"

namespace vlv::cudaops {

namespace {
Tensor random_stream(bool normal, const Attrs& attrs) {
  const RandomArgs a = random_args(attrs);
  Tensor y = empty(a.shape, DType::F32);
  ck(api().philox(normal, a.seed, a.offset, y.numel(), y.data<float>()), normal ? "randn" : "rand");
  return y;
}
}  // namespace

Tensors randn(const Tensors&, const Attrs& attrs, Saved*) { return {random_stream(true, attrs)}; }
Tensors rand(const Tensors&, const Attrs& attrs, Saved*) { return {random_stream(false, attrs)}; }

}  // namespace vlv::cudaops
