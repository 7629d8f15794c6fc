// Runtime SIMD level. Kernels compile their AVX2 / AVX-512 paths with
// __attribute__((target(...))) (no per-file flags, so node-gyp and cmake-js build alike)
// and pick one with simd_level() at run time. VLV_SIMD=scalar|avx2|avx512 caps the level.
#pragma once

namespace vlv {

enum class SimdLevel { Scalar = 0, AVX2 = 1, AVX512 = 2 };

SimdLevel simd_level();
bool has_avx512_bf16();
const char* simd_level_name(SimdLevel level);

}  // namespace vlv

// Function attributes for the SIMD paths.
#define VLV_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define VLV_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))
