#include "core/cpu_features.h"

#include <cstdlib>
#include <cstring>

namespace vlv {

namespace {
SimdLevel detect() {
  __builtin_cpu_init();
  SimdLevel hw = SimdLevel::Scalar;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) hw = SimdLevel::AVX2;
  if (hw == SimdLevel::AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    hw = SimdLevel::AVX512;
  if (const char* cap = std::getenv("VLV_SIMD")) {
    SimdLevel want = hw;
    if (!std::strcmp(cap, "scalar")) want = SimdLevel::Scalar;
    else if (!std::strcmp(cap, "avx2")) want = SimdLevel::AVX2;
    else if (!std::strcmp(cap, "avx512")) want = SimdLevel::AVX512;
    if (int(want) < int(hw)) hw = want;
  }
  return hw;
}
}  // namespace

SimdLevel simd_level() {
  static const SimdLevel level = detect();
  return level;
}

bool has_avx512_bf16() {
  __builtin_cpu_init();
  return simd_level() == SimdLevel::AVX512 && __builtin_cpu_supports("avx512bf16");
}

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::Scalar: return "scalar";
    case SimdLevel::AVX2: return "avx2";
    case SimdLevel::AVX512: return "avx512";
  }
  return "scalar";
}

}  // namespace vlv
