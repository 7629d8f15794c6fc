// rand / randn: the Philox 4x32-10 stream of csrc/core/philox.h, element for element the
// CPU's numbers (one thread per Philox block of 4 elements; randn's Box-Muller in double,
// rounded to f32, as the CPU does). Not run on a GPU yet.
#include "core/philox.h"
#include "cuda/kernels.h"
#include "ops/cuda/kernels/common.cuh"

namespace vlv::cuda {

namespace {
__global__ void philox_kernel(bool normal, uint64_t seed, uint64_t offset, int64_t n, float* y) {
  VLV_KERNEL_LOOP(blk, (n + 3) / 4) {
    philox::Block w = philox::stream_block(seed, offset + uint64_t(blk));
    for (int lane = 0; lane < 4; ++lane) {
      int64_t i = blk * 4 + lane;
      if (i >= n) break;
      if (!normal) {
        y[i] = philox::uniform(w.w[lane]);
        continue;
      }
      int pair = lane & 2;
      double u1 = double(philox::uniform(w.w[pair])), u2 = double(philox::uniform(w.w[pair + 1]));
      double r = sqrt(-2.0 * log(1.0 - u1)), phi = 2.0 * 3.14159265358979323846 * u2;
      y[i] = float((lane & 1) ? r * sin(phi) : r * cos(phi));
    }
  }
}
}  // namespace

int philox(int normal, uint64_t seed, uint64_t offset, int64_t n, float* y) {
  if (int rc = device_ok()) return rc;
  if (n == 0) return VLV_CUDA_OK;
  philox_kernel<<<blocks_for((n + 3) / 4, 256), 256, 0, stream()>>>(normal != 0, seed, offset, n, y);
  return launched("philox");
}

}  // namespace vlv::cuda
