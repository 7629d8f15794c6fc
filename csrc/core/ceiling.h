// The machine's measured ceilings, for benchmarks to report ratios against: peak f32 FMA
// throughput (all pool threads, the widest SIMD level) and copy bandwidth.
#pragma once

namespace vlv {

struct Ceilings {
  double fma_gflops;     // f32 GFLOP/s (an FMA counts 2) on every pool thread
  double fma_gflops_1t;  // the same on one thread
  double copy_gbps;      // memcpy bandwidth (read + write bytes) on every pool thread, GB/s
};

Ceilings measure_ceilings(double seconds_each = 0.2);

}  // namespace vlv
