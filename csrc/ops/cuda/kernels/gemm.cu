// GEMM entry: cuBLAS when it can be loaded at run time, else the own kernels
// (gemm_mma.cu). The build machine has no cuBLAS, so the few entry points are declared
// here and found with dlopen/dlsym: VLV_CUBLAS names the library; otherwise libcublas.so,
// .so.13, .so.12 on the loader's path, /usr/local/cuda*/lib64 and the nvidia-cublas wheels
// of Python installs (PyTorch's) are tried. VLV_GEMM=own forces the own kernels (tests run
// both). Row-major C = A B is computed as column-major C^T = B^T A^T, so A and B swap.
// With cuBLAS the bias/activation epilogue is a second pass (gemm_epilogue).
// Not run on a GPU yet.
#include <dlfcn.h>
#include <glob.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "cuda/kernels.h"
#include "ops/cuda/kernels/common.cuh"
#include "ops/cuda/kernels/gemm.h"

namespace vlv::cuda {

namespace {
// The cuBLAS v2 ABI values used (cublas_api.h, library_types.h).
using cublasHandle_t = void*;
constexpr int kOpN = 0, kOpT = 1, kR32F = 0, kR16F = 2, kR16BF = 14, kCompute32F = 68, kGemmDefault = -1;
using CreateFn = int (*)(cublasHandle_t*);
using SetStreamFn = int (*)(cublasHandle_t, cudaStream_t);
// cublasGemmStridedBatchedEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA,
//                            B, Btype, ldb, strideB, beta, C, Ctype, ldc, strideC, batch, compute, algo)
using GemmExFn = int (*)(cublasHandle_t, int, int, int, int, int, const void*, const void*, int, int, long long,
                         const void*, int, int, long long, const void*, void*, int, int, long long, int, int, int);

struct Cublas {
  std::string path, why_not;
  CreateFn create = nullptr;
  SetStreamFn set_stream = nullptr;
  GemmExFn gemm = nullptr;
  cublasHandle_t handle[8] = {};
};

std::vector<std::string> candidates() {
  std::vector<std::string> c;
  if (const char* env = std::getenv("VLV_CUBLAS"); env && *env) return {env};
  for (const char* n : {"libcublas.so", "libcublas.so.13", "libcublas.so.12"}) c.push_back(n);
  for (const char* pattern : {"/usr/local/cuda*/lib64/libcublas.so*", "/usr/lib/x86_64-linux-gnu/libcublas.so*",
                              "/usr/local/lib/python3*/*-packages/nvidia/cublas/lib/libcublas.so*",
                              "/usr/lib/python3*/*-packages/nvidia/cublas/lib/libcublas.so*",
                              "/opt/conda/lib/python3*/site-packages/nvidia/cublas/lib/libcublas.so*"}) {
    glob_t g{};
    if (glob(pattern, 0, nullptr, &g) == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) c.push_back(g.gl_pathv[i]);
    globfree(&g);
  }
  return c;
}

Cublas& cublas() {
  static Cublas cb;
  static std::once_flag once;
  std::call_once(once, [] {
    if (const char* f = std::getenv("VLV_GEMM"); f && std::strcmp(f, "own") == 0) {
      cb.why_not = "VLV_GEMM=own";
      return;
    }
    for (const std::string& p : candidates()) {
      void* h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!h) continue;
      cb.create = reinterpret_cast<CreateFn>(dlsym(h, "cublasCreate_v2"));
      cb.set_stream = reinterpret_cast<SetStreamFn>(dlsym(h, "cublasSetStream_v2"));
      cb.gemm = reinterpret_cast<GemmExFn>(dlsym(h, "cublasGemmStridedBatchedEx"));
      if (cb.create && cb.set_stream && cb.gemm) {
        cb.path = p;
        return;
      }
      cb.create = nullptr;
    }
    cb.why_not = "no cuBLAS found";
  });
  return cb;
}

int cuda_type(int dt) { return dt == VLV_CUDA_BF16 ? kR16BF : dt == VLV_CUDA_F16 ? kR16F : kR32F; }

// 0 on success; -1 when cuBLAS is absent or refused (the caller falls back).
int gemm_cublas(const VlvCudaGemm& g) {
  Cublas& cb = cublas();
  if (!cb.create) return -1;
  int dev = current_device();
  if (!cb.handle[dev] && cb.create(&cb.handle[dev]) != 0) return -1;
  if (cb.set_stream(cb.handle[dev], stream()) != 0) return -1;
  const float alpha = g.alpha, beta = 0.f;
  int st =
      cb.gemm(cb.handle[dev], g.trans_b ? kOpT : kOpN, g.trans_a ? kOpT : kOpN, int(g.n), int(g.m), int(g.k), &alpha,
              g.b, cuda_type(g.ab_dtype), int(g.ldb), g.stride_b, g.a, cuda_type(g.ab_dtype), int(g.lda), g.stride_a,
              &beta, g.c, cuda_type(g.c_dtype), int(g.ldc), g.stride_c, int(g.batch), kCompute32F, kGemmDefault);
  return st == 0 ? 0 : -1;
}
}  // namespace

int gemm_backend(char* name, int size) {
  Cublas& cb = cublas();
  std::string s = cb.create ? "cublas (" + cb.path + ")" : "mma.sync (" + cb.why_not + ")";
  if (size > 0) {
    std::strncpy(name, s.c_str(), size_t(size) - 1);
    name[size - 1] = 0;
  }
  return VLV_CUDA_OK;
}

int gemm(const VlvCudaGemm* gp) {
  if (int rc = device_ok()) return rc;
  const VlvCudaGemm& g = *gp;
  if (g.m == 0 || g.n == 0 || g.batch == 0) return VLV_CUDA_OK;
  if (g.k == 0) {  // an empty sum: C = act(bias)
    if (int rc = VLV_FLOAT_SWITCH(g.c_dtype, C, {
          for (int64_t b = 0; b < g.batch; ++b)
            for (int64_t r = 0; r < g.m; ++r)
              if (int rc2 = fill(g.c_dtype, g.n, 0.f, static_cast<C*>(g.c) + b * g.stride_c + r * g.ldc)) return rc2;
          return VLV_CUDA_OK;
        }))
      return rc;
    return gemm_epilogue(g);
  }
  bool fits_int = g.m < INT32_MAX && g.n < INT32_MAX && g.k < INT32_MAX && g.batch < INT32_MAX;
  if (fits_int && g.ab_dtype == g.c_dtype && gemm_cublas(g) == 0) {
    if (int rc = launched("cublas gemm")) return rc;
    return gemm_epilogue(g);
  }
  return gemm_own(g);
}

}  // namespace vlv::cuda
