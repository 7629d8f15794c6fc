// The C interface between the addon and the CUDA backend library (libvlv_cuda.so).
// The addon dlopens the library and calls two symbols by name: vlv_cuda_probe (once, to
// decide whether CUDA is usable) and vlv_cuda_api (the table below). Nothing else crosses:
// no C++ types, no exceptions. The library owns the device layer (device choice, one stream
// per device, the caching allocator, pinned staging, events) and raw kernel launches on
// device pointers; the addon (csrc/ops/cuda/<family>.cc) wraps them into a vlv::KernelTable:
// argument checks (ops/check), output allocation and broadcasting plans live there; the
// backward rules are device-independent (ops/grad).
//
// Every function returns a status (VLV_CUDA_OK or a VLV_CUDA_E_* code) and, on failure,
// leaves a message for last_error() (thread-local). Any CUDA error other than an allocation
// failure marks the device unusable: that call and every later one return VLV_CUDA_E_DEVICE
// with the first error's text. Kernels run in order on the device's stream; copies to the
// host synchronise it, so an asynchronous fault surfaces there at the latest.
//
// Element types use vlv::DType's numbering (VLV_CUDA_F32...). Float kernels take f32, bf16
// or f16 data and compute in f32. Strides are in elements. Shapes have at most 8 dims.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define VLV_CUDA_MAX_DIMS 8

#ifdef __cplusplus
extern "C" {
#endif

struct VlvCudaDevice {
  char name[128];
  int major, minor;       // compute capability
  uint64_t total_memory;  // bytes
  int multiprocessors;
};

struct VlvCudaProbe {
  uint32_t abi_version;  // VLV_CUDA_ABI_VERSION of the library's build
  int error;             // the cudaError_t of the first failing call, 0 if none
  char error_name[64];   // cudaGetErrorName of that error
  int driver_version;    // cudaDriverGetVersion (0: no driver)
  int runtime_version;   // cudaRuntimeGetVersion of the static runtime linked in
  int device_count;
  struct VlvCudaDevice devices[8];
};

// Fills *out; returns 0 when at least one device is usable.
typedef int (*vlv_cuda_probe_fn)(struct VlvCudaProbe* out);

// E_CAPTURE: the call cannot be captured into a CUDA graph (a host copy or wait inside a
// capture, or CUDA refused the capture); the device stays usable after graph_abort.
enum { VLV_CUDA_OK = 0, VLV_CUDA_E_OOM = 1, VLV_CUDA_E_DEVICE = 2, VLV_CUDA_E_ARG = 3, VLV_CUDA_E_CAPTURE = 4 };
enum {
  VLV_CUDA_F32 = 0,
  VLV_CUDA_BF16 = 1,
  VLV_CUDA_F16 = 2,
  VLV_CUDA_I32 = 3,
  VLV_CUDA_I64 = 4,
  VLV_CUDA_U8 = 5,
  VLV_CUDA_BOOL = 6,
  VLV_CUDA_F64 = 7
};
enum { VLV_CUDA_ADD = 0, VLV_CUDA_SUB = 1, VLV_CUDA_MUL = 2, VLV_CUDA_DIV = 3 };
enum {
  VLV_CUDA_ACT_NONE = 0,
  VLV_CUDA_ACT_GELU = 1,
  VLV_CUDA_ACT_GELU_TANH = 2,
  VLV_CUDA_ACT_SILU = 3,
  VLV_CUDA_ACT_QUICK_GELU = 4
};
enum { VLV_CUDA_GEGLU = 0, VLV_CUDA_SWIGLU = 1 };
enum { VLV_CUDA_COPY_H2D = 0, VLV_CUDA_COPY_D2H = 1, VLV_CUDA_COPY_D2D = 2 };

struct VlvCudaMemory {
  uint64_t in_use, reserved, peak_in_use, raw_allocs, cache_hits;
  uint64_t device_free, device_total;
};

// A strided view: element strides per dim (0 = broadcast).
struct VlvCudaView {
  int ndim;
  int64_t shape[VLV_CUDA_MAX_DIMS];
  int64_t strides[VLV_CUDA_MAX_DIMS];
};

// One row-major GEMM: C[b] = act(alpha * op(A[b]) @ op(B[b]) + bias) for b < batch,
// op = transpose when trans_*; A is M x K after op, B is K x N. stride_* step between batch
// items (0: shared). bias (length N, may be null) has dtype c_dtype's float kind or f32.
// pre_act (may be null): receives alpha*AB+bias before the activation, in c_dtype.
struct VlvCudaGemm {
  int ab_dtype, c_dtype, bias_dtype;  // ab: f32, bf16 or f16; c: f32, bf16 or f16
  int trans_a, trans_b, act;
  int64_t m, n, k, batch;
  int64_t lda, ldb, ldc, stride_a, stride_b, stride_c;
  float alpha;
  const void* a;
  const void* b;
  const void* bias;
  void* c;
  void* pre_act;
};

// One tensor of a multi-tensor launch (adamw, clip_grad_norm).
struct VlvCudaMulti {
  void* p[4];  // adamw: param, grad, exp_avg, exp_avg_sq; norm/scale: p[0]
  int64_t n;
  int dtype;  // of p[0] and p[1] (f32, bf16, f16); adamw moments are f32
};

// One fused attention call (ops.h: attention). q[b,hq,lq,d], k[b,hkv,lk,d], v[b,hkv,lk,dv]
// contiguous, all of `dtype`; query head h reads kv head h / (hq/hkv). mask (may be null):
// mask_dtype VLV_CUDA_BOOL (u8, nonzero = attend) or VLV_CUDA_F32 (added to the scores),
// element (b,h,i,j) at mask[b*s0 + h*s1 + i*s2 + j*s3] (mask_strides; 0 = broadcast).
// causal: query i sees keys j <= i + lk - lq. d and dv <= 256.
struct VlvCudaAttention {
  int dtype, mask_dtype, causal;
  int64_t b, hq, hkv, lq, lk, d, dv;
  int64_t mask_strides[4];
  float scale;
  const void* q;
  const void* k;
  const void* v;
  const void* mask;
};

// The scalars of one scheduler step (ops.h: scheduler_step); guidance is used when the
// conditional half `mc` is given (ABI 4).
struct VlvCudaSchedulerStep {
  float x0_sample, x0_model, clip, sample, model, x0, prev_x0, noise, guidance;
};

// timestep_embedding's scalars (ops.h): rows n, width dim, half = dim / 2.
struct VlvCudaTimestep {
  int64_t n, dim, half;
  int flip;
  double shift, scale, max_period;
};

// conv2d geometry: x[n,cin,h,w], w[cout,cin/groups,kh,kw] -> y[n,cout,ho,wo].
struct VlvCudaConv {
  int dtype;
  int64_t n, cin, h, w, cout, kh, kw, sh, sw, ph, pw, groups, ho, wo;
};

// Every entry point of the library, in ABI order: X(return type, name, (parameters)).
// It expands into the VlvCudaApi table below, the library's declarations (vlv::cuda::name,
// kernels.h) and the table's initializer (api.cu), so a kernel is added by adding its row;
// the ABI version is a hash of this list and the structs, so it changes by itself.
// clang-format off
#define VLV_CUDA_API(X)                                                                                                \
  /* message of this thread's last failure */                                                                          \
  X(const char*, last_error, (void))                                                                                   \
  /* Device layer. */                                                                                                  \
  X(int, set_device, (int device))                                                                                     \
  /* E_OOM: the message names requested and free bytes */                                                              \
  X(int, alloc, (size_t bytes, void** out))                                                                            \
  /* never fails; a block of a dead device is dropped */                                                               \
  X(void, free_block, (void* p))                                                                                       \
  X(int, memory, (VlvCudaMemory* out))                                                                                 \
  X(int, empty_cache, (void))                                                                                          \
  /* pinned staging for H2D/D2H */                                                                                     \
  X(int, copy, (void* dst, const void* src, size_t bytes, int kind))                                                   \
  X(int, synchronize, (void))                                                                                          \
  /* creates an event and records it on the stream */                                                                  \
  X(int, event_record, (void** event))                                                                                 \
  /* waits for end */                                                                                                  \
  X(int, event_elapsed_ms, (void* start, void* end, float* ms))                                                        \
  X(void, event_destroy, (void* event))                                                                                \
  /* "cublas (path)" or "mma.sync" */                                                                                  \
  X(int, gemm_backend, (char* name, int size))                                                                         \
  /* Kernels (device pointers). */                                                                                     \
  X(int, fill, (int dtype, int64_t n, float value, void* y))                                                           \
  X(int, binary, (int op, int dtype, const VlvCudaView* out, const void* a, const int64_t* a_strides, const void* b,   \
      const int64_t* b_strides, void* y))                                                                              \
  X(int, scale, (int dtype, int64_t n, const void* x, float alpha, float beta, void* y))                               \
  X(int, cast, (int src_dtype, int dst_dtype, int64_t n, const void* x, void* y))                                      \
  X(int, copy_strided, (int elem_bytes, const VlvCudaView* src, const void* x, const int64_t* dst_strides, void* y))   \
  /* The unary ops of VLV_UNARY_OPS (ops/ops.h): op is the UnaryOp code. */                                            \
  X(int, unary, (int op, int dtype, int64_t n, const void* x, void* y))                                                \
  /* gx = gy * dy/dx(x, y), y the forward's output. */                                                                 \
  X(int, unary_backward, (int op, int dtype, int64_t n, const void* x, const void* y, const void* gy, void* gx))       \
  X(int, activation, (int act, int dtype, int64_t n, const void* x, void* y))                                          \
  X(int, activation_backward, (int act, int dtype, int64_t n, const void* x, const void* gy, void* gx))                \
  /* geglu: a = x[rows, 2h], b null; swiglu: a = gate, b = up, both [rows, h]. */                                      \
  X(int, gated, (int kind, int dtype, int64_t rows, int64_t h, const void* a, const void* b, void* y))                 \
  X(int, gated_backward, (int kind, int dtype, int64_t rows, int64_t h, const void* a, const void* b, const void* gy,  \
      void* ga, void* gb))                                                                                             \
  X(int, softmax, (int dtype, int64_t rows, int64_t cols, const void* x, void* y))                                     \
  X(int, softmax_backward, (int dtype, int64_t rows, int64_t cols, const void* y, const void* gy, void* gx))           \
  /* layer_norm (rms = 0) / rms_norm (rms = 1) over the last dim; w, b may be null. mean/rstd f32 [rows]. */           \
  X(int, norm, (int rms, int dtype, int64_t rows, int64_t cols, const void* x, const void* w, const void* b,           \
      float eps,                                                                                                       \
      void* y, float* mean, float* rstd))                                                                              \
  /* gw, gb (f32 [cols], may be null) are written, not accumulated. */                                                 \
  X(int, norm_backward, (int rms, int dtype, int64_t rows, int64_t cols, const void* x, const void* w,                 \
      const float* mean, const float* rstd, const void* gy, void* gx, float* gw, float* gb))                           \
  /* y may be null (ABI 4): the statistics alone. */                                                                   \
  X(int, group_norm, (int dtype, int64_t n, int64_t c, int64_t hw, int64_t groups, const void* x, const void* w,       \
      const void* b, float eps, int silu, void* y, float* mean, float* rstd))                                          \
  X(int, group_norm_backward, (int dtype, int64_t n, int64_t c, int64_t hw, int64_t groups, const void* x,             \
      const void* w, const void* b, const float* mean, const float* rstd, int silu, const void* gy, void* gx,          \
      float* gw, float* gb))                                                                                           \
  /* y[kept] = scale * sum over the reduced dims of x. `kept` holds the output's dims with x's strides; `reduced`      \
     the summed dims with x's strides. Fixed order: deterministic. */                                                  \
  X(int, reduce_sum, (int dtype, const VlvCudaView* kept, const VlvCudaView* reduced, const void* x, float scale,      \
      int y_dtype, void* y))                                                                                           \
  /* ids out of range: VLV_CUDA_E_ARG naming the first bad id. */                                                      \
  X(int, embedding, (int dtype, int64_t vocab, int64_t dim, const void* w, int64_t n_ids, int ids_dtype,               \
      const void* ids, void* y))                                                                                       \
  /* gw (f32 [vocab, dim]) written whole */                                                                            \
  X(int, embedding_backward, (int dtype, int64_t vocab, int64_t dim, int64_t n_ids, int ids_dtype, const void* ids,    \
      const void* gy, void* gw))                                                                                       \
  /* x[B,H,L,D] rotated by +angle (sign 1) or -angle (sign -1, the backward); pos [L] or [B,L]; bf16_tables:       \
     cos/sin rounded to bf16. */                                                                                       \
  X(int, rope, (int dtype, int64_t b, int64_t h, int64_t l, int64_t d, const void* x, int pos_dtype, const void* pos,  \
      int pos_batched, float theta, int sign, int bf16_tables, void* y))                                               \
  /* loss[r] (0 for ignored rows), valid[r] in {0,1}, lse[r]: f32 [rows]. */                                           \
  X(int, cross_entropy, (int dtype, int64_t rows, int64_t classes, const void* logits, int t_dtype,                    \
      const void* targets, int64_t ignore_index, float* loss, float* valid, float* lse))                               \
  /* glogits = (softmax - onehot(target)) * grow[r] (grow f32 [rows]; ignored rows get 0). */                          \
  X(int, cross_entropy_backward, (int dtype, int64_t rows, int64_t classes, const void* logits, int t_dtype,           \
      const void* targets, int64_t ignore_index, const float* lse, const float* grow, void* glogits))                  \
  X(int, philox, (int normal, uint64_t seed, uint64_t offset, int64_t n, float* y))                                    \
  X(int, adamw, (int count, const VlvCudaMulti* tensors, double lr, double beta1, double beta2, double eps,            \
      double weight_decay, int64_t step))                                                                              \
  /* norm[0] = sqrt(sum of squares of every tensor) (f32 device scalar); then each tensor is scaled by min(1,          \
     max_norm / (norm + 1e-6)) read on the device. */                                                                  \
  X(int, clip_grad_norm, (int count, const VlvCudaMulti* tensors, double max_norm, float* norm))                       \
  X(int, gemm, (const VlvCudaGemm* g))                                                                                 \
  /* ABI 3 (CUDA part 2). out[b,hq,lq,dv] (dtype), lse[b,hq,lq] f32 (-inf and out = 0 for a row that sees no key). */  \
  X(int, attention, (const VlvCudaAttention* a, void* out, float* lse))                                                \
  /* gq, gk, gv (dtype, shapes of q, k, v) are written whole; deterministic (no atomics). */                           \
  X(int, attention_backward, (const VlvCudaAttention* a, const void* out, const float* lse, const void* gout,          \
      void* gq,                                                                                                        \
      void* gk, void* gv))                                                                                             \
  /* f32, n elements; mc (the conditional half of a guided step: the model term is then fma(guidance, mc - m, m)),     \
     p (prev_x0) and noise may be null. (ABI 4: mc, guidance.) */                                                      \
  X(int, scheduler_step, (const VlvCudaSchedulerStep* c, int64_t n, const float* x, const float* m, const float* mc,   \
      const float* p, const float* noise, float* prev, float* x0))                                                     \
  /* col[g][k][n*ho*wo + p] (k = (c_in_group*kh + ky)*kw + kx) from x: im2col of every image. */                       \
  X(int, im2col, (const VlvCudaConv* c, const void* x, void* col))                                                     \
  /* gx[n,cin,h,w] = the adjoint of im2col applied to gcol (a gather: deterministic). */                               \
  X(int, col2im, (const VlvCudaConv* c, const void* gcol, void* gx))                                                   \
  /* ABI 4 (graphs). y [n, dim] f32 from t [n] (t_dtype f32, i32 or i64), on the device. */                            \
  X(int, timestep_embedding, (const VlvCudaTimestep* a, int t_dtype, const void* t, float* y))                         \
  /* CUDA graphs of the current device's stream. graph_begin starts capturing (relaxed mode): kernels are              \
     recorded, not run; host copies and waits fail with E_CAPTURE; every block allocated or freed until the            \
     capture ends joins the graph's private pool, which only that capture reuses, so replays never write memory        \
     handed to anyone else. graph_end instantiates the capture (*graph: an opaque handle); on any failure call         \
     graph_abort, which ends the capture and drops what it recorded. graph_launch replays on the stream;               \
     graph_destroy frees the executable and returns the pool to the cache. */                                          \
  X(int, graph_begin, (void))                                                                                          \
  X(int, graph_end, (void** graph))                                                                                    \
  X(int, graph_abort, (void))                                                                                          \
  X(int, graph_launch, (void* graph))                                                                                  \
  X(void, graph_destroy, (void* graph))                                                                                \
  /* ABI 4 (conv). y[n,cout,ho,wo] = bias + conv2d(pro(x), w) as an implicit GEMM on tensor cores: bf16 or f16,        \
     groups == 1 (else VLV_CUDA_E_ARG). pro(v) = v, or v*in_scale[n,c] + in_shift[n,c] (f32 [n, cin], both or          \
     neither), then SiLU when in_silu. bias (dtype, [cout]) may be null. */                                            \
  X(int, conv2d_igemm, (const VlvCudaConv* c, const void* x, const void* w, const void* bias, const float* in_scale,   \
      const float* in_shift, int in_silu, void* y))                                                                    \
  /* gx[n,cin,h,w] = conv2d's data gradient from gy[n,cout,ho,wo], the same implicit GEMM (written whole,              \
     deterministic); bf16 or f16, groups == 1. */                                                                      \
  X(int, conv2d_igemm_dgrad, (const VlvCudaConv* c, const void* gy, const void* w, void* gx))                          \
  /* scale[n,ch] = rstd[n,g]*gamma[ch], shift[n,ch] = beta[ch] - mean[n,g]*scale[n,ch] (f32 [n, c]) from               \
     group_norm's statistics; gamma, beta (dtype [c]) may be null. */                                                  \
  X(int, group_norm_scale_shift, (int dtype, int64_t n, int64_t c, int64_t groups, const float* mean,                  \
      const float* rstd, const void* gamma, const void* beta, float* scale, float* shift))                             \
  /* end of the list */
// clang-format on

struct VlvCudaApi {
  uint32_t abi_version;  // VLV_CUDA_ABI_VERSION of the library's build
#define VLV_CUDA_API_FIELD(ret, name, params) ret(*name) params;
  VLV_CUDA_API(VLV_CUDA_API_FIELD)
#undef VLV_CUDA_API_FIELD
};

typedef const struct VlvCudaApi* (*vlv_cuda_api_fn)(void);

#ifdef __cplusplus
}

#include "ops/ops.h"  // VLV_UNARY_OPS: the unary op codes the unary entries take

// The ABI version: an FNV-1a hash of the entry list's text and the sizes of the structs that
// cross, computed at compile time on both sides. A changed signature, a new entry or a resized
// struct gives a new number, so a library and an addon from different builds refuse each other
// (probe: "the CUDA library speaks ABI ...") instead of calling through a stale table.
namespace vlv_cuda_abi {
#define VLV_CUDA_API_TEXT(ret, name, params) #ret " " #name #params ";"
constexpr const char kEntries[] = VLV_CUDA_API(VLV_CUDA_API_TEXT);
#undef VLV_CUDA_API_TEXT
// The unary ops' codes cross the ABI as numbers: their list is part of the version.
#define VLV_CUDA_UNARY_TEXT(X, name, f, dfdx) #name ";"
constexpr const char kUnaryOps[] = VLV_UNARY_OPS(VLV_CUDA_UNARY_TEXT, _);
#undef VLV_CUDA_UNARY_TEXT
constexpr uint32_t fnv1a(uint32_t h, uint64_t byte) { return (h ^ uint32_t(byte & 0xff)) * 16777619u; }
constexpr uint32_t hash_text(const char* s, uint32_t h) {
  for (; *s; ++s) h = fnv1a(h, uint8_t(*s));
  return h;
}
constexpr uint32_t hash_size(uint32_t h, uint64_t size) {
  for (int i = 0; i < 8; ++i) h = fnv1a(h, size >> (8 * i));
  return h;
}
constexpr uint32_t version() {
  uint32_t h = hash_text(kUnaryOps, hash_text(kEntries, 2166136261u));
  const uint64_t sizes[] = {
      sizeof(VlvCudaDevice),   sizeof(VlvCudaProbe), sizeof(VlvCudaMemory),    sizeof(VlvCudaView),
      sizeof(VlvCudaGemm),     sizeof(VlvCudaMulti), sizeof(VlvCudaAttention), sizeof(VlvCudaSchedulerStep),
      sizeof(VlvCudaTimestep), sizeof(VlvCudaConv),  sizeof(VlvCudaApi)};
  for (uint64_t s : sizes) h = hash_size(h, s);
  return h;
}
}  // namespace vlv_cuda_abi
#define VLV_CUDA_ABI_VERSION (vlv_cuda_abi::version())
#endif
