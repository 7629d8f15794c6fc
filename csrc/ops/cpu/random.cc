// rand / randn: f32 uniform [0,1) and standard normal numbers from the Philox 4x32-10 stream
// defined in core/philox.h (seed, offset, element index -> value). Parallel over blocks of
// the stream; each element is a pure function of (seed, offset, index), so the output does
// not depend on the thread count or on how the tensor is shaped.
// Measured (2-core dev box, shared, medians, 1e6 elements): rand ~4 ms (torch.rand 15 ms), randn
// ~36 ms (torch.randn 13 ms): the double log/cos/sin the definition asks for dominate.
#include <algorithm>
#include <cmath>

#include "core/philox.h"
#include "core/thread_pool.h"
#include "ops/check/embedding.h"
#include "ops/kernel.h"

namespace vlv::cpu {

namespace {

// Runs fill(block_words, first_element_of_block, count<=4, out) over the blocks of `out`.
template <class Fill>
Tensor generate(const RandomArgs& a, Fill fill) {
  Tensor out = Tensor::empty(a.shape, DType::F32);
  float* o = out.data<float>();
  int64_t n = out.numel();
  int64_t blocks = (n + 3) / 4;
  parallel_for(blocks, 4096, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      philox::Block w = philox::stream_block(a.seed, a.offset + uint64_t(b));
      int64_t first = b * 4;
      fill(w, int(std::min<int64_t>(4, n - first)), o + first);
    }
  });
  return out;
}

}  // namespace

Tensors rand(const Tensors&, const Attrs& attrs, Saved*) {
  return {generate(random_args(attrs), [](const philox::Block& w, int count, float* o) {
    for (int j = 0; j < count; ++j) o[j] = philox::uniform(w.w[j]);
  })};
}

Tensors randn(const Tensors&, const Attrs& attrs, Saved*) {
  return {generate(random_args(attrs), [](const philox::Block& w, int count, float* o) {
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    for (int pair = 0; pair * 2 < count; ++pair) {
      double u1 = philox::uniform(w.w[2 * pair]), u2 = philox::uniform(w.w[2 * pair + 1]);
      double r = std::sqrt(-2.0 * std::log(1.0 - u1)), phi = kTwoPi * u2;
      o[2 * pair] = float(r * std::cos(phi));
      if (2 * pair + 1 < count) o[2 * pair + 1] = float(r * std::sin(phi));
    }
  })};
}

}  // namespace vlv::cpu
