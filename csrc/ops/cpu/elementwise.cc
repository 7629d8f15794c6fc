// elementwise: add, sub, mul, div with NumPy broadcasting; scale (x*alpha + beta); cast
// between every dtype.
//
// Binary ops run over a coalesced plan (broadcast.h): the output is a list of rows whose
// inner run reads each input either contiguously (stride 1) or as one repeated value
// (stride 0). That covers same-shape tensors (one row), a trailing-row broadcast such as a
// bias [C] on [N,C] (N rows, b repeated per row) and scalars, with AVX-512 / AVX2 / scalar
// row kernels; all levels give the same bits (one IEEE op per element, no contraction).
// The backward rules are composed from these ops (ops/grad/elementwise.cc); expand (a fused
// backward kernel, ops.h) broadcasts a gradient out (expand_f32 in broadcast.cc).
// Measured (2-core dev box, noisy): add [2048,4096] + [4096] ~45 ms, the same as torch
// (bound by writing a fresh 32 MiB output); [64,1024] + [1024] 0.03-0.2 ms vs torch 0.15.
//
// cast: f32/f64/bf16/f16 -> floats round to nearest even (bf16/f16 from f64 via f32, as
// torch); floats -> integers truncate toward zero (NaN or out of range gives the integer
// minimum, what x86's cvtt* give torch); u8 from a float is the low byte of the i32 result;
// integers narrow by wrapping; bool = (x != 0).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ops/cpu/broadcast.h"
#include "ops/kernel.h"

namespace vlv::cpu {

namespace {

enum class Bin { Add, Sub, Mul, Div };

template <Bin op>
inline float apply(float x, float y) {
  if constexpr (op == Bin::Add) return x + y;
  if constexpr (op == Bin::Sub) return x - y;
  if constexpr (op == Bin::Mul) return x * y;
  return x / y;
}

// out[i] = a[i*sa] op b[i*sb] for i < n, sa and sb in {0, 1}.
template <Bin op>
void row_scalar(const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n) {
  if (sa && sb)
    for (int64_t i = 0; i < n; ++i) o[i] = apply<op>(a[i], b[i]);
  else if (sa)
    for (int64_t i = 0; i < n; ++i) o[i] = apply<op>(a[i], *b);
  else if (sb)
    for (int64_t i = 0; i < n; ++i) o[i] = apply<op>(*a, b[i]);
  else std::fill(o, o + n, apply<op>(*a, *b));
}

template <Bin op>
VLV_TARGET_AVX2 inline __m256 apply8(__m256 x, __m256 y) {
  if constexpr (op == Bin::Add) return _mm256_add_ps(x, y);
  if constexpr (op == Bin::Sub) return _mm256_sub_ps(x, y);
  if constexpr (op == Bin::Mul) return _mm256_mul_ps(x, y);
  return _mm256_div_ps(x, y);
}

template <Bin op>
VLV_TARGET_AVX2 void row_avx2(const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n) {
  int64_t i = 0;
  const __m256 va = _mm256_set1_ps(*a), vb = _mm256_set1_ps(*b);
  for (; i + 8 <= n; i += 8) {
    __m256 x = sa ? _mm256_loadu_ps(a + i) : va;
    __m256 y = sb ? _mm256_loadu_ps(b + i) : vb;
    _mm256_storeu_ps(o + i, apply8<op>(x, y));
  }
  row_scalar<op>(sa ? a + i : a, sa, sb ? b + i : b, sb, o + i, n - i);
}

template <Bin op>
VLV_TARGET_AVX512 inline __m512 apply16(__m512 x, __m512 y) {
  if constexpr (op == Bin::Add) return _mm512_add_ps(x, y);
  if constexpr (op == Bin::Sub) return _mm512_sub_ps(x, y);
  if constexpr (op == Bin::Mul) return _mm512_mul_ps(x, y);
  return _mm512_div_ps(x, y);
}

template <Bin op>
VLV_TARGET_AVX512 void row_avx512(const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n) {
  const __m512 va = _mm512_set1_ps(*a), vb = _mm512_set1_ps(*b);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    __m512 x = sa ? _mm512_maskz_loadu_ps(m, a + i) : va;
    __m512 y = sb ? _mm512_maskz_loadu_ps(m, b + i) : vb;
    _mm512_mask_storeu_ps(o + i, m, apply16<op>(x, y));
  }
}

using RowFn = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t);

template <Bin op>
RowFn pick_row() {
  switch (simd_level()) {
    case SimdLevel::AVX512: return row_avx512<op>;
    case SimdLevel::AVX2: return row_avx2<op>;
    default: return row_scalar<op>;
  }
}

constexpr int64_t kGrain = 32768;  // elements per parallel chunk

template <Bin op>
Tensors binary(const Tensors& in, const char* name) {
  const Tensor& a = input(in, 0);
  const Tensor& b = input(in, 1);
  check_float(a, name, "a");
  check_float(b, name, "b");
  BinaryPlan p = plan_binary(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(p.out, DType::F32);
  if (out.numel() == 0) return {out};
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* po = out.data<float>();
  const int64_t n = p.inner(), sa = p.sa.back(), sb = p.sb.back();
  RowFn row = pick_row<op>();
  if (p.rows() == 1) {  // one long row: split it
    parallel_for(n, kGrain, [&](int64_t i0, int64_t i1) { row(pa + i0 * sa, sa, pb + i0 * sb, sb, po + i0, i1 - i0); });
    return {out};
  }
  parallel_for(p.rows(), std::max<int64_t>(1, kGrain / n), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t oa, ob;
      p.row_offsets(r, &oa, &ob);
      row(pa + oa, sa, pb + ob, sb, po + r * n, n);
    }
  });
  return {out};
}

}  // namespace

Tensors add(const Tensors& in, const Attrs&, Saved*) { return binary<Bin::Add>(in, "add"); }
Tensors sub(const Tensors& in, const Attrs&, Saved*) { return binary<Bin::Sub>(in, "sub"); }
Tensors mul(const Tensors& in, const Attrs&, Saved*) { return binary<Bin::Mul>(in, "mul"); }
Tensors div(const Tensors& in, const Attrs&, Saved*) { return binary<Bin::Div>(in, "div"); }

// x broadcast to attrs shape (the fused backward kernel of sum / mean, ops.h).
Tensors expand(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  check_float(x, "expand", "x");
  return {expand_f32(x, attrs.ints("shape"))};
}

// ---- scale -------------------------------------------------------------------------------

namespace {
Tensor affine(const Tensor& x, float alpha, float beta) {
  Tensor out = Tensor::empty(x.shape(), DType::F32);
  const float* s = x.data<float>();
  float* d = out.data<float>();
  parallel_for(x.numel(), kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) d[i] = s[i] * alpha + beta;
  });
  return out;
}
}  // namespace

Tensors scale(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  check_float(x, "scale", "x");
  return {affine(x, float(attrs.f("alpha", 1.0)), float(attrs.f("beta", 0.0)))};
}

// ---- cast --------------------------------------------------------------------------------

namespace {

// Elements are read as double (floating sources) or int64 (integer and bool sources).
template <class T>
struct Elem;
template <>
struct Elem<float> {
  static double get(float v) { return v; }
  static float put(double v) { return float(v); }
  static float put(int64_t v) { return float(v); }
};
template <>
struct Elem<double> {
  static double get(double v) { return v; }
  static double put(double v) { return v; }
  static double put(int64_t v) { return double(v); }
};
struct BF16 {
  uint16_t bits;
};
struct F16 {
  uint16_t bits;
};
struct Bool {
  uint8_t v;
};
template <>
struct Elem<BF16> {
  static double get(BF16 v) { return bf16_to_f32(v.bits); }
  static BF16 put(double v) { return {f32_to_bf16(float(v))}; }
  static BF16 put(int64_t v) { return {f32_to_bf16(float(v))}; }
};
template <>
struct Elem<F16> {
  static double get(F16 v) { return f16_to_f32(v.bits); }
  static F16 put(double v) { return {f32_to_f16(float(v))}; }
  static F16 put(int64_t v) { return {f32_to_f16(float(v))}; }
};
template <>
struct Elem<Bool> {
  static int64_t get(Bool v) { return v.v != 0; }
  static Bool put(double v) { return {uint8_t(v != 0)}; }
  static Bool put(int64_t v) { return {uint8_t(v != 0)}; }
};
template <class I>
I trunc_int(double v) {  // toward zero; NaN / out of range -> the minimum (as cvtt*)
  constexpr double lo = double(std::numeric_limits<I>::min()), hi = -lo;
  return v > lo - 1 && v < hi ? I(v) : std::numeric_limits<I>::min();
}
template <>
struct Elem<int32_t> {
  static int64_t get(int32_t v) { return v; }
  static int32_t put(double v) { return trunc_int<int32_t>(v); }
  static int32_t put(int64_t v) { return int32_t(uint32_t(uint64_t(v))); }
};
template <>
struct Elem<int64_t> {
  static int64_t get(int64_t v) { return v; }
  static int64_t put(double v) { return trunc_int<int64_t>(v); }
  static int64_t put(int64_t v) { return v; }
};
template <>
struct Elem<uint8_t> {
  static int64_t get(uint8_t v) { return v; }
  static uint8_t put(double v) { return uint8_t(uint32_t(trunc_int<int32_t>(v))); }
  static uint8_t put(int64_t v) { return uint8_t(uint64_t(v)); }
};

template <class S, class D>
void convert(const void* src, void* dst, int64_t n) {
  static_assert(sizeof(BF16) == 2 && sizeof(F16) == 2 && sizeof(Bool) == 1);
  const S* s = static_cast<const S*>(src);
  D* d = static_cast<D*>(dst);
  parallel_for(n, kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) d[i] = Elem<D>::put(Elem<S>::get(s[i]));
  });
}

template <class S>
void convert_from(DType to, const void* src, void* dst, int64_t n) {
  switch (to) {
    case DType::F32: return convert<S, float>(src, dst, n);
    case DType::F64: return convert<S, double>(src, dst, n);
    case DType::BF16: return convert<S, BF16>(src, dst, n);
    case DType::F16: return convert<S, F16>(src, dst, n);
    case DType::I32: return convert<S, int32_t>(src, dst, n);
    case DType::I64: return convert<S, int64_t>(src, dst, n);
    case DType::U8: return convert<S, uint8_t>(src, dst, n);
    case DType::Bool: return convert<S, Bool>(src, dst, n);
  }
}

Tensor cast_to(const Tensor& x, DType to) {
  Tensor out = Tensor::empty(x.shape(), to);
  const void* s = x.raw();
  void* d = out.raw();
  const int64_t n = x.numel();
  switch (x.dtype()) {
    case DType::F32: convert_from<float>(to, s, d, n); break;
    case DType::F64: convert_from<double>(to, s, d, n); break;
    case DType::BF16: convert_from<BF16>(to, s, d, n); break;
    case DType::F16: convert_from<F16>(to, s, d, n); break;
    case DType::I32: convert_from<int32_t>(to, s, d, n); break;
    case DType::I64: convert_from<int64_t>(to, s, d, n); break;
    case DType::U8: convert_from<uint8_t>(to, s, d, n); break;
    case DType::Bool: convert_from<Bool>(to, s, d, n); break;
  }
  return out;
}

}  // namespace

Tensors cast(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& x = input(in, 0);
  check_defined(x, "cast", "x");
  VLV_CHECK(x.device() == Device::CPU, ErrorCode::Device, "cast: ", x.desc(), " is not on the CPU");
  return {cast_to(x, dtype_from_name(attrs.s("dtype")))};
}

}  // namespace vlv::cpu
