// CUDA kernel table, conv2d and group_norm_conv2d (kernels: csrc/cuda/conv_igemm.cu for the
// implicit GEMM, csrc/cuda/conv.cu for im2col / col2im, the part-1 GEMM for the products).
//
// bf16 / f16 with groups == 1: the implicit-GEMM tensor-core kernel (conv_igemm.cu), bias
// fused; its backward computes dx with the same kernel over the transposed taps and dW on
// im2col + GEMM as below. group_norm_conv2d there: group_norm's kernel returns only mean /
// rstd, a small kernel turns them and the affine into per-(image, channel) scale / shift, and
// the conv's B loader applies silu?(x*scale + shift) as it gathers (the normalised tensor is
// never written). VLV_CONV=im2col forces the path below for everything.
//
// f32 data, grouped / depthwise convolutions and VLV_CONV=im2col: im2col over chunks of
// images (col at most kColBudget elements, one image at least):
//   col[G][K][n*P]  (K = Cin/G*kh*kw, P = Ho*Wo, n images of the chunk),
//   y^T[G][Cout/G][N*P] (the chunk's columns) = w_g[Cout/G, K] @ col_g  (one GEMM batched
//   over the groups), y = permute(y^T as [Cout, N, Ho, Wo]) + bias.
// conv2d_backward (the fused backward kernel of ops.h; the rule, with the bias gradient as a
//   sum of gy, is ops/grad/conv.cc): gy^T = permute(gy) as [G][Cout/G][N*P]; per chunk
//   dcol_g = w_g^T @ gy^T_g and dx = col2im(dcol); dW_g = sum over chunks (in order) of
//   gy^T_g @ col_g^T (col recomputed). Depthwise and grouped convolutions take the same path
//   (K = kh*kw per group); group_norm_conv2d there is group_norm then conv2d.
// Not run on a GPU yet.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <tuple>

#include "ops/api.h"
#include "ops/check/conv.h"
#include "ops/cuda/common.h"
#include "ops/cuda/table.h"

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
  return VlvCudaConv{dt(x.dtype()), s.n,  s.cin, s.h,  s.w,      s.cout, s.kh, s.kw,
                     s.sh,          s.sw, s.ph,  s.pw, s.groups, s.ho,   s.wo};
}

// The implicit-GEMM kernel takes bf16 / f16 with groups == 1; VLV_CONV=im2col turns it off.
bool use_igemm(const VlvCudaConv& c) {
  static const bool forced_im2col = [] {
    const char* f = std::getenv("VLV_CONV");
    return f && std::strcmp(f, "im2col") == 0;
  }();
  return !forced_im2col && c.groups == 1 && (c.dtype == VLV_CUDA_BF16 || c.dtype == VLV_CUDA_F16);
}

const void* raw_or_null(const Tensor& t) { return t.defined() ? t.raw() : nullptr; }

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
  if (use_igemm(c)) {
    Tensor y = empty({c.n, c.cout, c.ho, c.wo}, x.dtype());
    ck(api().conv2d_igemm(&c, x.raw(), w.raw(), raw_or_null(b), nullptr, nullptr, 0, y.raw()), "conv2d");
    return {y};
  }
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

// x, w, gy -> (gx, gw) as attrs needs asks.
Tensors conv2d_backward(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor &x = input(in, 0), &w = input(in, 1), &go = input(in, 2);
  const VlvCudaConv c = geometry(x, w, Tensor(), attrs);
  const int64_t cog = c.cout / c.groups, K = k_of(c), P = c.ho * c.wo, NP = np_of(c);
  auto wants = [&](size_t i) { return wants_grad(attrs, i); };
  const Tensor gy_x = cast_to(go.detach(), x.dtype());
  Tensor gx = wants(0) ? empty(x.shape(), x.dtype()) : Tensor(), gw;
  if (gx.defined() && use_igemm(c))  // dx as an implicit GEMM; the chunks below then only do dW
    ck(api().conv2d_igemm_dgrad(&c, gy_x.raw(), w.raw(), gx.raw()), "conv2d backward");
  const bool col2im_dx = gx.defined() && !use_igemm(c);
  const Tensor gyt = col2im_dx || wants(1) ? ops::permute(gy_x, {1, 0, 2, 3}) : Tensor();  // [Cout, N, Ho, Wo]
  // dW: one partial per chunk (in order), summed afterwards: deterministic.
  const int64_t chunks = c.n == 0 ? 1 : (c.n + images_per_chunk(c) - 1) / images_per_chunk(c);
  Tensor parts = wants(1) ? empty({chunks, c.cout, K}, w.dtype()) : Tensor();
  if (wants(1) && c.n == 0) ck(api().fill(c.dtype, parts.numel(), 0.f, parts.raw()), "conv2d backward");
  int64_t chunk = 0;
  if (gyt.defined())
    for_each_chunk(c, x, wants(1), [&](const VlvCudaConv& sub, int64_t n0, const Tensor& col) {
      const int64_t cols = np_of(sub);
      const Operand gy{at(gyt, n0 * P), NP, cog * NP};
      if (col2im_dx) {
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
    gw = chunks == 1
             ? parts.reshape(w.shape())
             : cast_to(reduce(parts, {true, false, false}, 1.f, false, DType::F32), w.dtype()).reshape(w.shape());
  return {gx, gw};
}

Tensors group_norm_conv2d(const Tensors& in, const Attrs& attrs, Saved*) {
  const GroupNormConv p = group_norm_conv_parts(in, attrs);
  const Tensor &x = p.norm_in[0], &nw = p.norm_in[1], &nb = p.norm_in[2];
  const VlvCudaConv c = geometry(x, p.weight, p.bias, p.conv);
  if (!use_igemm(c)) return conv2d({group_norm(p.norm_in, p.norm, nullptr)[0], p.weight, p.bias}, p.conv, nullptr);
  const int64_t G = p.norm.i("groups"), HW = c.h * c.w;
  Tensor mean = empty({c.n * G}, DType::F32), rstd = empty({c.n * G}, DType::F32);
  ck(api().group_norm(c.dtype, c.n, c.cin, HW, G, x.raw(), nullptr, nullptr, float(p.norm.f("eps")), 0, nullptr,
                      mean.data<float>(), rstd.data<float>()),
     "group_norm_conv2d");
  Tensor scale = empty({c.n, c.cin}, DType::F32), shift = empty({c.n, c.cin}, DType::F32);
  ck(api().group_norm_scale_shift(c.dtype, c.n, c.cin, G, mean.data<float>(), rstd.data<float>(), raw_or_null(nw),
                                  raw_or_null(nb), scale.data<float>(), shift.data<float>()),
     "group_norm_conv2d");
  Tensor y = empty({c.n, c.cout, c.ho, c.wo}, x.dtype());
  ck(api().conv2d_igemm(&c, x.raw(), p.weight.raw(), raw_or_null(p.bias), scale.data<float>(), shift.data<float>(),
                        int(p.norm.b("silu", false)), y.raw()),
     "group_norm_conv2d");
  return {y};
}

namespace {
// The [N,C,H,2,W,2] view of a [N,C,2H,2W] tensor, and x's strides read into it.
Shape up_shape(const Tensor& x) { return {x.size(0), x.size(1), x.size(2), 2, x.size(3), 2}; }
}  // namespace

Tensors upsample_nearest2x(const Tensors& in, const Attrs&, Saved*) {
  const Tensor& x = input(in, 0);
  check_defined(x, "upsample_nearest2x", "x");
  VLV_CHECK(x.dim() == 4, ErrorCode::Shape, "upsample_nearest2x: x ", x.desc(), " must be [N, C, H, W]");
  Tensor y = empty({x.size(0), x.size(1), 2 * x.size(2), 2 * x.size(3)}, x.dtype());
  if (y.numel() == 0) return {y};
  std::vector<int64_t> xs = strides_of(x.shape());
  Shape sh = up_shape(x);
  VlvCudaView v = view(sh, {xs[0], xs[1], xs[2], 0, xs[3], 0}, "upsample_nearest2x");
  std::vector<int64_t> dst = strides_of(sh);
  ck(api().copy_strided(int(dtype_size(x.dtype())), &v, x.raw(), dst.data(), y.raw()), "upsample_nearest2x");
  return {y};
}
}  // namespace vlv::cudaops
