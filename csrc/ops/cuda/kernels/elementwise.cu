// Elementwise kernels: fill, add/sub/mul/div with NumPy broadcasting (any strided view of
// the inputs, ndim <= 8, one IEEE op per element in f32 as on the CPU), scale (x*alpha+beta),
// cast between every dtype (the CPU's rules: floats round to nearest even, floats to
// integers truncate toward zero with NaN / out of range giving the integer minimum, u8 is the
// low byte of the i32 result, integers wrap, bool = x != 0). The strided copy the shape ops
// are made of is in shape.cu. Backward rules are composed in the addon (ops/cuda/elementwise.cc).
// Not measured on a GPU yet.
#include "cuda/kernels.h"
#include "ops/cuda/kernels/common.cuh"

namespace vlv::cuda {

namespace {

template <class T>
__global__ void fill_kernel(T* y, int64_t n, float v) {
  VLV_KERNEL_LOOP(i, n) store(y, i, v);
}

template <class T, int Op>
__global__ void binary_kernel(Index8 out, const T* a, Index8 as, const T* b, Index8 bs, T* y, int64_t n) {
  VLV_KERNEL_LOOP(i, n) {
    float x = load(a, offset_of(i, out.ndim, out.shape, as.strides));
    float z = load(b, offset_of(i, out.ndim, out.shape, bs.strides));
    float r;
    if constexpr (Op == VLV_CUDA_ADD) r = __fadd_rn(x, z);
    else if constexpr (Op == VLV_CUDA_SUB) r = __fsub_rn(x, z);
    else if constexpr (Op == VLV_CUDA_MUL) r = __fmul_rn(x, z);
    else r = __fdiv_rn(x, z);
    store(y, i, r);
  }
}

template <class T>
__global__ void scale_kernel(const T* x, float alpha, float beta, T* y, int64_t n) {
  // Two roundings (mul, add), no contraction: the CPU's bits.
  VLV_KERNEL_LOOP(i, n) store(y, i, __fadd_rn(__fmul_rn(load(x, i), alpha), beta));
}

// A value read from any dtype: integers stay exact in i64.
struct Any {
  bool is_int;
  int64_t i;
  double f;
};

__device__ Any read_any(int dt, const void* p, int64_t i) {
  switch (dt) {
    case VLV_CUDA_F32: return {false, 0, double(static_cast<const float*>(p)[i])};
    case VLV_CUDA_BF16: return {false, 0, double(__bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]))};
    case VLV_CUDA_F16: return {false, 0, double(__half2float(static_cast<const __half*>(p)[i]))};
    case VLV_CUDA_F64: return {false, 0, static_cast<const double*>(p)[i]};
    case VLV_CUDA_I32: return {true, static_cast<const int32_t*>(p)[i], 0};
    case VLV_CUDA_I64: return {true, static_cast<const int64_t*>(p)[i], 0};
    default: return {true, static_cast<const uint8_t*>(p)[i], 0};  // u8, bool
  }
}

// Float to integer as x86's cvtt*: truncation; NaN or out of range gives the minimum.
__device__ int64_t trunc_to(double f, int bits) {
  double lim = bits == 64 ? 9223372036854775808.0 : 2147483648.0;
  if (!(f > -lim - 1.0 && f < lim)) return bits == 64 ? INT64_MIN : int64_t(INT32_MIN);
  return int64_t(f);
}

__device__ void write_any(int dt, void* p, int64_t i, Any v) {
  // Floats from a double round through f32, as torch does for bf16/f16 from f64.
  double f = v.is_int ? double(v.i) : v.f;
  switch (dt) {
    case VLV_CUDA_F32: static_cast<float*>(p)[i] = float(f); break;
    case VLV_CUDA_BF16: static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(float(f)); break;
    case VLV_CUDA_F16: static_cast<__half*>(p)[i] = __float2half_rn(float(f)); break;
    case VLV_CUDA_F64: static_cast<double*>(p)[i] = f; break;
    case VLV_CUDA_I32: static_cast<int32_t*>(p)[i] = int32_t(v.is_int ? v.i : trunc_to(f, 32)); break;
    case VLV_CUDA_I64: static_cast<int64_t*>(p)[i] = v.is_int ? v.i : trunc_to(f, 64); break;
    case VLV_CUDA_U8: static_cast<uint8_t*>(p)[i] = uint8_t(v.is_int ? v.i : trunc_to(f, 32)); break;
    default: static_cast<uint8_t*>(p)[i] = uint8_t(v.is_int ? v.i != 0 : f != 0.0); break;  // bool
  }
}

__global__ void cast_kernel(int sd, int dd, const void* x, void* y, int64_t n) {
  VLV_KERNEL_LOOP(i, n) write_any(dd, y, i, read_any(sd, x, i));
}

}  // namespace

int fill(int dtype, int64_t n, float value, void* y) {
  if (int rc = device_ok()) return rc;
  if (n == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(dtype, T, {
    fill_kernel<T><<<blocks_for(n, 256), 256, 0, stream()>>>(static_cast<T*>(y), n, value);
    return launched("fill");
  });
}

int binary(int op, int dtype, const VlvCudaView* out, const void* a, const int64_t* as, const void* b,
           const int64_t* bs, void* y) {
  if (int rc = device_ok()) return rc;
  if (int rc = check_view(out, "binary")) return rc;
  int64_t n = numel(*out);
  if (n == 0) return VLV_CUDA_OK;
  Index8 o = index_of(*out), ia = with_strides(o, as), ib = with_strides(o, bs);
  return VLV_FLOAT_SWITCH(dtype, T, {
    auto A = static_cast<const T*>(a);
    auto B = static_cast<const T*>(b);
    auto Y = static_cast<T*>(y);
    unsigned g = blocks_for(n, 256);
    switch (op) {
      case VLV_CUDA_ADD: binary_kernel<T, VLV_CUDA_ADD><<<g, 256, 0, stream()>>>(o, A, ia, B, ib, Y, n); break;
      case VLV_CUDA_SUB: binary_kernel<T, VLV_CUDA_SUB><<<g, 256, 0, stream()>>>(o, A, ia, B, ib, Y, n); break;
      case VLV_CUDA_MUL: binary_kernel<T, VLV_CUDA_MUL><<<g, 256, 0, stream()>>>(o, A, ia, B, ib, Y, n); break;
      case VLV_CUDA_DIV: binary_kernel<T, VLV_CUDA_DIV><<<g, 256, 0, stream()>>>(o, A, ia, B, ib, Y, n); break;
      default: return set_error(VLV_CUDA_E_ARG, "binary: unknown op " + std::to_string(op));
    }
    return launched("binary");
  });
}

int scale(int dtype, int64_t n, const void* x, float alpha, float beta, void* y) {
  if (int rc = device_ok()) return rc;
  if (n == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(dtype, T, {
    scale_kernel<T>
        <<<blocks_for(n, 256), 256, 0, stream()>>>(static_cast<const T*>(x), alpha, beta, static_cast<T*>(y), n);
    return launched("scale");
  });
}

int cast(int sd, int dd, int64_t n, const void* x, void* y) {
  if (int rc = device_ok()) return rc;
  if (sd < 0 || sd > VLV_CUDA_F64 || dd < 0 || dd > VLV_CUDA_F64)
    return set_error(VLV_CUDA_E_ARG, "cast: unknown dtype");
  if (n == 0) return VLV_CUDA_OK;
  cast_kernel<<<blocks_for(n, 256), 256, 0, stream()>>>(sd, dd, x, y, n);
  return launched("cast");
}

}  // namespace vlv::cuda
