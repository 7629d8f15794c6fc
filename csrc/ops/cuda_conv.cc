// CUDA kernel table, conv2d (kernels: csrc/cuda/conv.cu for im2col / col2im, the part-1
// GEMM for the products). A correct first version, im2col over chunks of images (col at most
// kColBudget elements, one image at least):
//   col[G][K][n*P]  (K = Cin/G*kh*kw, P = Ho*Wo, n images of the chunk),
//   y^T[G][Cout/G][N*P] (the chunk's columns) = w_g[Cout/G, K] @ col_g  (one GEMM batched
//   over the groups), y = permute(y^T as [Cout, N, Ho, Wo]) + bias.
// Backward: gy^T = permute(gy) as [G][Cout/G][N*P]; per chunk dcol_g = w_g^T @ gy^T_g and
//   dx = col2im(dcol); dW_g = sum over chunks (in order) of gy^T_g @ col_g^T (col recomputed);
//   db = sum of gy over (N, Ho, Wo). Depthwise and grouped convolutions take the same path
//   (K = kh*kw per group). The implicit-GEMM tensor-core kernel and the fused group-norm +
//   SiLU are left to do. Not run on a GPU yet.
#include <algorithm>
#include <tuple>

#include "ops/api.h"
#include "ops/conv_shape.h"
#include "ops/cuda_common.h"
#include "ops/cuda_ops.h"

namespace vlv::cudaops {

namespace {
VlvCudaConv geometry(const Tensor& x, const Tensor& w, const Tensor& b, const Attrs& attrs) {
  const ConvShape s = conv_shape(x, w, b, attrs);
  check_cuda_float(x, "conv2d", "x");
  check_cuda_float(w, "conv2d", "weight");
  VLV_CHECK(w.dtype() == x.dtype(), ErrorCode::DType, "conv2d: weight ", w.desc(), " must have x's dtype ",
            dtype_name(x.dtype()));
  if (b.defined()) {
    check_cuda_float(b, "conv2d", "bias");
    VLV_CHECK(b.dtype() == x.dtype(), ErrorCode::DType, "conv2d: bias ", b.desc(), " must have x's dtype ",
              dtype_name(x.dtype()));
  }
  return VlvCudaConv{dt(x.dtype()), s.n, s.cin, s.h, s.w, s.cout, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.groups, s.ho, s.wo};
}

int64_t k_of(const VlvCudaConv& c) { return c.cin / c.groups * c.kh * c.kw; }
int64_t np_of(const VlvCudaConv& c) { return c.n * c.ho * c.wo; }

// col elements per chunk of images (256 MiB in f32): the VAE's 512x512 convolutions would
// otherwise need gigabytes of col. One image is never split.
constexpr int64_t kColBudget = int64_t(64) << 20;

int64_t images_per_chunk(const VlvCudaConv& c) {
  const int64_t per_image = std::max<int64_t>(1, c.groups * k_of(c) * c.ho * c.wo);
  return std::clamp<int64_t>(kColBudget / per_image, 1, std::max<int64_t>(c.n, 1));
}

// A GEMM operand: element pointer, leading dimension, stride between groups.
struct Operand {
  const void* p;
  int64_t ld, stride;
};

const void* at(const Tensor& t, int64_t elems) {
  return static_cast<const char*>(t.raw()) + elems * int64_t(dtype_size(t.dtype()));
}

// C[g] = op(A[g]) @ op(B[g]) for every group g (row-major).
void group_gemm(const VlvCudaConv& c, bool ta, bool tb, int64_t m, int64_t n, int64_t k, Operand a, Operand b,
                Operand out, const char* op) {
  VlvCudaGemm g{};
  g.ab_dtype = g.c_dtype = g.bias_dtype = c.dtype;
  g.trans_a = ta;
  g.trans_b = tb;
  g.act = VLV_CUDA_ACT_NONE;
  g.m = m, g.n = n, g.k = k, g.batch = c.groups;
  g.lda = a.ld, g.ldb = b.ld, g.ldc = out.ld;
  g.stride_a = a.stride, g.stride_b = b.stride, g.stride_c = out.stride;
  g.alpha = 1.f;
  g.a = a.p, g.b = b.p, g.c = const_cast<void*>(out.p);
  ck(api().gemm(&g), op);
}

// Calls f(sub-geometry, first image, col of those images) per chunk of images, in order.
template <class F>
void for_each_chunk(const VlvCudaConv& c, const Tensor& x, bool need_col, F&& f) {
  const int64_t per = images_per_chunk(c), image = c.cin * c.h * c.w;
  for (int64_t n0 = 0; n0 < c.n; n0 += per) {
    VlvCudaConv sub = c;
    sub.n = std::min(per, c.n - n0);
    Tensor col;
    if (need_col) {
      col = empty({c.groups, k_of(c), np_of(sub)}, x.dtype());
      ck(api().im2col(&sub, at(x, n0 * image), col.raw()), "conv2d");
    }
    f(sub, n0, col);
  }
}
}  // namespace

Tensors conv2d(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor &x = input(in, 0), &w = input(in, 1), &b = input(in, 2);
  const VlvCudaConv c = geometry(x, w, b, attrs);
  const int64_t cog = c.cout / c.groups, K = k_of(c), P = c.ho * c.wo, NP = np_of(c);
  Tensor yt = empty({c.cout, c.n, c.ho, c.wo}, x.dtype());
  for_each_chunk(c, x, true, [&](const VlvCudaConv& sub, int64_t n0, const Tensor& col) {
    const int64_t cols = np_of(sub);
    group_gemm(c, false, false, cog, cols, K, {w.raw(), K, cog * K}, {col.raw(), cols, K * cols},
               {at(yt, n0 * P), NP, cog * NP}, "conv2d");  // K = 0: zeros
  });
  // Inner calls on detached tensors: the conv2d node alone is recorded.
  Tensor y = ops::permute(yt, {1, 0, 2, 3});
  if (b.defined()) y = ops::add(y, b.detach().reshape({1, c.cout, 1, 1}));
  return {y};
}

Tensors conv2d_backward(const BackwardArgs& g) {
  const Tensor& go = g.grad_outputs[0];
  if (!go.defined()) return {Tensor(), Tensor(), Tensor()};
  const Tensor &x = g.inputs[0], &w = g.inputs[1], &b = input(g.inputs, 2);
  const VlvCudaConv c = geometry(x, w, b, g.attrs);
  const int64_t cog = c.cout / c.groups, K = k_of(c), P = c.ho * c.wo, NP = np_of(c);
  auto wants = [&](size_t i) { return i < g.needs_grad.size() && g.needs_grad[i] && input(g.inputs, i).defined(); };
  Tensor gyt = ops::permute(cast_to(go.detach(), x.dtype()), {1, 0, 2, 3});  // [Cout, N, Ho, Wo]
  Tensor gx = wants(0) ? empty(x.shape(), x.dtype()) : Tensor(), gw, gb;
  // dW: one partial per chunk (in order), summed afterwards: deterministic.
  const int64_t chunks = c.n == 0 ? 1 : (c.n + images_per_chunk(c) - 1) / images_per_chunk(c);
  Tensor parts = wants(1) ? empty({chunks, c.cout, K}, w.dtype()) : Tensor();
  if (wants(1) && c.n == 0) ck(api().fill(c.dtype, parts.numel(), 0.f, parts.raw()), "conv2d backward");
  int64_t chunk = 0;
  for_each_chunk(c, x, wants(1), [&](const VlvCudaConv& sub, int64_t n0, const Tensor& col) {
    const int64_t cols = np_of(sub);
    const Operand gy{at(gyt, n0 * P), NP, cog * NP};
    if (gx.defined()) {
      Tensor dcol = empty({c.groups, K, cols}, x.dtype());
      group_gemm(c, true, false, K, cols, cog, {w.raw(), K, cog * K}, gy, {dcol.raw(), cols, K * cols},
                 "conv2d backward");
      ck(api().col2im(&sub, dcol.raw(), const_cast<void*>(at(gx, n0 * c.cin * c.h * c.w))), "conv2d backward");
    }
    if (parts.defined())
      group_gemm(c, false, true, cog, K, cols, gy, {col.raw(), cols, K * cols},
                 {at(parts, chunk * c.cout * K), K, cog * K}, "conv2d backward");
    ++chunk;
  });
  if (parts.defined())
    gw = chunks == 1 ? parts.reshape(w.shape())
                     : cast_to(reduce(parts, {true, false, false}, 1.f, false, DType::F32), w.dtype()).reshape(w.shape());
  if (wants(2)) gb = cast_to(reduce(go.detach(), {true, false, true, true}, 1.f, false, DType::F32), b.dtype());
  return {gx, gw, gb};
}

}  // namespace vlv::cudaops
