// Element types and the 16-bit float conversions every backend shares.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

namespace vlv {

enum class DType : uint8_t { F32, BF16, F16, I32, I64, U8, Bool, F64 };

size_t dtype_size(DType dt);
const char* dtype_name(DType dt);                // "f32", "bf16", ... (the JS names)
DType dtype_from_name(const std::string& name);  // throws E_DTYPE
bool is_floating(DType dt);

inline float bf16_to_f32(uint16_t v) {
  uint32_t bits = uint32_t(v) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Round to nearest even, NaN kept quiet: the same rule as PyTorch's c10::BFloat16.
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x40);
  uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return uint16_t((bits + rounding) >> 16);
}

float f16_to_f32(uint16_t v);
uint16_t f32_to_f16(float f);

}  // namespace vlv
