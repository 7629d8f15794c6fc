// Philox 4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3",
// SC'11), with the constants of Random123 and curand. Header-only and free of library calls
// so the CPU kernels and the CUDA kernels share one definition of the stream.
//
// THE STREAM (rand, randn; every device and thread count gives the same numbers):
//   seed   : a 64-bit value (the int64 attribute's bits); key = (seed & 0xffffffff, seed >> 32).
//   offset : a 64-bit count of Philox blocks already used (the int64 attribute's bits).
//   block b: philox4x32_10(ctr = (b & 0xffffffff, b >> 32, 0, 0), key) -> 4 words w[0..3].
//   Element i of the flattened output (row-major) reads block b = offset + floor(i / 4)
//   (mod 2^64) and lane i % 4 of it, so n elements use ceil(n / 4) blocks: continue a stream
//   with offset += ceil(n / 4).
//   rand : u(w) = (w >> 8) * 2^-24, in [0, 1), exact in f32.
//   randn: lanes pair up as (0,1) and (2,3). For the pair (w_a, w_b) of element i:
//            u1 = u(w_a), u2 = u(w_b), r = sqrt(-2 ln(1 - u1)), phi = 2 pi u2,
//            the even lane (0 or 2) gets r cos(phi), the odd lane (1 or 3) gets r sin(phi);
//          computed in double and rounded to f32 (1 - u1 lies in (0, 1], so the log is finite).
//   Element i's value depends only on (seed, offset, i), never on the shape or the chunking.
// Reference: scripts/fixtures/gen_random.py implements the same stream independently in
// Python and checks itself against Random123's known-answer vectors.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define VLV_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define VLV_HOST_DEVICE inline
#endif

namespace vlv::philox {

constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // Weyl key increments
constexpr int kRounds = 10;

struct Block {
  uint32_t w[4];
};

VLV_HOST_DEVICE Block philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  for (int r = 0; r < kRounds; ++r) {
    if (r > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    uint64_t p0 = uint64_t(kM0) * c0, p1 = uint64_t(kM1) * c2;
    uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0), hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  return Block{{c0, c1, c2, c3}};
}

// Block b of the stream of `seed` (b already includes the offset).
VLV_HOST_DEVICE Block stream_block(uint64_t seed, uint64_t b) {
  return philox4x32_10(uint32_t(b), uint32_t(b >> 32), 0, 0, uint32_t(seed), uint32_t(seed >> 32));
}

// (w >> 8) * 2^-24: 24 random bits, uniform in [0, 1).
VLV_HOST_DEVICE float uniform(uint32_t w) { return float(w >> 8) * (1.0f / 16777216.0f); }

}  // namespace vlv::philox
