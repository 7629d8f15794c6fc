// THE list of ops. One row per op: X(name, inputs, has_backward, family).
//   inputs: the number of positional tensor inputs (optional ones may be undefined);
//           -1 = any number (concat, clip_grad_norm).
//   family: the name every file of the op carries: ops/check/<family>, ops/grad/<family>.cc
//           (its backward rule), ops/cpu/<family>.cc, ops/cuda/<family>.cc (host glue) and
//           ops/cuda/kernels/<family>*.cu, scripts/fixtures/gen_<family>.py,
//           test/fixtures/ops/<family>/ and test/ops/<family>.test.ts (test/ops/op-coverage.test.ts
//           checks that these exist for every family of the list).
// The table expands into the OpId enum, the name table, the declarations every backend
// must define (a missing kernel is a link error), the declarations of the backward rules
// (ops/grad/grad.h: one per has_backward row, device-independent, written with ops:: calls)
// and the op list the tests check their coverage against. Semantics are fixed here;
// kernels, backward rules and tests follow them.
//
// A second list, VLV_GRAD_KERNELS, holds the fused backward kernels the rules call where
// composing ops would cost passes on a hot path. Same row shape, the same OpId enum and
// kernel tables (every backend defines them too), reached through ops:: (api.h) like any op,
// never recorded; internal: opList() does not show them and runOp cannot name them. They
// have no fixtures of their own: the gradient fixtures of the ops they serve check them.
//
// Saved tensors (what a forward kernel keeps for the rule beyond inputs and outputs; every
// backend saves the same tensors in the same order):
//   linear with an activation: {pre}, the pre-activation (x @ w^T + bias), y's shape/dtype.
//   group_norm, layer_norm, rms_norm: {stats}, f32 per-row (per (image, group)) statistics
//     in the backend's own layout, read only by its own *_norm_backward kernel (CPU: [rows,3]
//     mean hi, mean lo, rstd; rms [rows] rstd. CUDA: [2,rows] mean; rstd).
//   cross_entropy: {lse}, f32 [N], the logsumexp of each row of logits.
//   Every other op saves nothing; softmax, div and attention read their outputs (attention:
//   out and lse).
//
// Conventions: tensors are contiguous row-major; CPU kernels compute in f32 unless said;
// broadcasting follows NumPy; "last dim" means dim -1.
#pragma once
#include <cstdint>

// Unary elementwise ops, one row each: U(X, name, y = f(x), dy/dx from x and y), in f32 on
// every device (f32, bf16 and f16 data on CUDA). The rows join the op list below as
// X(name, 1, 1, elementwise); every backend's kernel, the ops:: entry point and the backward
// rule (gx = gy * dy/dx) are expanded from this list, so a new unary op is this row, its
// fixtures (scripts/fixtures/gen_elementwise.py) and its typed wrapper in lib/ops.ts.
// clang-format off
#define VLV_UNARY_OPS(U, X)                                                                                            \
  U(X, neg,     -x,                       -1.f)                                                                        \
  U(X, abs,     fabsf(x),                 (x > 0.f ? 1.f : x < 0.f ? -1.f : 0.f))                                      \
  U(X, exp,     expf(x),                  y)                                                                           \
  U(X, log,     logf(x),                  1.f / x)                                                                     \
  U(X, sqrt,    sqrtf(x),                 0.5f / y)                                                                    \
  U(X, rsqrt,   1.f / sqrtf(x),           -0.5f * y * y * y)                                                           \
  U(X, tanh,    tanhf(x),                 1.f - y * y)                                                                 \
  U(X, sigmoid, 1.f / (1.f + expf(-x)),   y * (1.f - y))
#define VLV_UNARY_OP_ROW(X, name, f, dfdx) X(name, 1, 1, elementwise)
// clang-format on

// clang-format off
#define VLV_OPS(X)                                                                                                    \
  /* Elementwise with NumPy broadcasting. */                                                                          \
  X(add, 2, 1, elementwise)                 /* a + b */                                                               \
  X(sub, 2, 1, elementwise)                 /* a - b */                                                               \
  X(mul, 2, 1, elementwise)                 /* a * b */                                                               \
  X(div, 2, 1, elementwise)                 /* a / b */                                                               \
  X(scale, 1, 1, elementwise)               /* x*alpha + beta; attrs alpha=1, beta=0 */                               \
  X(cast, 1, 1, elementwise)                /* x to attrs.dtype ("f32","bf16","f16","i32","i64",...) */               \
  VLV_UNARY_OPS(VLV_UNARY_OP_ROW, X)        /* neg, abs, exp, log, sqrt, rsqrt, tanh, sigmoid (above) */              \
  /* Activations. */                                                                                                  \
  X(gelu, 1, 1, activation)                 /* attrs approximate="none"|"tanh" (torch) */                             \
  X(quick_gelu, 1, 1, activation)           /* x * sigmoid(1.702 x) */                                                \
  X(silu, 1, 1, activation)                 /* x * sigmoid(x) */                                                      \
  X(geglu, 1, 1, activation)                /* x[...,2H]: (h, g) = chunk(x, 2, -1); h * gelu(g) */                    \
  X(swiglu, 2, 1, activation)               /* silu(gate) * up; inputs gate, up */                                    \
  /* Linear algebra. */                                                                                               \
  X(matmul, 2, 1, gemm)                     /* a[...,M,K] @ b[...,K,N]; attrs trans_a=0, trans_b=0 read               \
                                               the last two dims transposed; alpha=1. Batch dims equal,               \
                                               or b 2-D (shared by every batch). */                                   \
  X(linear, 3, 1, gemm)                     /* x[...,in] @ w[out,in]^T + bias[out] (bias optional);                   \
                                               attrs activation="none"|"gelu"|"gelu_tanh"|"silu"|                     \
                                               "quick_gelu", fused after the bias */                                  \
  X(conv2d, 3, 1, conv)                     /* x[N,Cin,H,W], w[Cout,Cin/groups,kh,kw], bias[Cout] optional;           \
                                               attrs stride=1, padding=0 (int or [h,w]), groups=1 */                  \
  X(group_norm_conv2d, 5, 0, conv)          /* conv2d(silu?(group_norm(x))) fused (the UNet resnet block):            \
                                               x, norm_weight[Cin], norm_bias[Cin], weight, bias; norm_*              \
                                               and bias optional; attrs norm_groups, eps=1e-5, silu=0 and             \
                                               conv2d's. Inference only: E_ARG when a gradient would be               \
                                               recorded (use group_norm + conv2d there) */                            \
  X(upsample_nearest2x, 1, 1, conv)         /* [N,C,H,W] -> [N,C,2H,2W] */                                            \
  /* Normalisation. */                                                                                                \
  X(group_norm, 3, 1, norm)                 /* x[N,C,*], weight[C], bias[C] optional; attrs groups,                   \
                                               eps=1e-5, silu=0 (SiLU fused after the affine) */                      \
  X(layer_norm, 3, 1, norm)                 /* over the last dim; weight, bias optional; attrs eps=1e-5 */            \
  X(rms_norm, 2, 1, norm)                   /* x * rsqrt(mean(x^2, -1) + eps) * weight; attrs eps=1e-6 */             \
  X(softmax, 1, 1, norm)                    /* over the last dim */                                                   \
  /* Attention, fused: the [Lq,Lk] score matrix is never materialised whole. */                                       \
  X(attention, 4, 1, attention)             /* q[B,Hq,Lq,D], k[B,Hkv,Lk,D], v[B,Hkv,Lk,Dv], mask optional:            \
                                               bool (true = attend) or f32 (added to the scores),                     \
                                               broadcastable to [B,Hq,Lq,Lk]; Hq % Hkv == 0 (query head h             \
                                               reads kv head h / (Hq/Hkv)). attrs causal=0 (query i sees              \
                                               keys j <= i + Lk - Lq, bottom-right aligned), scale=1/sqrt(D)          \
                                               Outputs: out[B,Hq,Lq,Dv], lse[B,Hq,Lq] = logsumexp of the              \
                                               scaled, masked scores (-inf and out = 0 where a row sees               \
                                               no key). lse receives no gradient. */                                  \
  /* Embeddings and positions. */                                                                                     \
  X(embedding, 2, 1, embedding)             /* weight[V,D], ids (i32/i64, any shape) -> [...,D]; the grad             \
                                               to weight is a scatter-add; ids out of range: E_ARG */                 \
  X(rope, 2, 1, embedding)                  /* x[B,H,L,D] rotated by positions (i32/i64 [L] or [B,L]):                \
                                               rotate-half pairs (i, i+D/2), angle = pos * theta^(-2i/D);             \
                                               attrs theta=10000 (Llama/Qwen2 convention), bf16_tables=0 (1:          \
                                               cos/sin rounded to bf16, as transformers casts them to a bf16          \
                                               input's dtype) */                                                      \
  X(timestep_embedding, 1, 0, embedding)    /* t[N] -> [N,dim]: diffusers get_timestep_embedding; attrs               \
                                               dim, flip_sin_to_cos=0, downscale_freq_shift=1, scale=1,               \
                                               max_period=10000 */                                                    \
  /* Shape. */                                                                                                        \
  X(reshape, 1, 1, shape)                   /* attrs shape (one -1 inferred); a view */                               \
  X(slice, 1, 1, shape)                     /* attrs dim=0, start, end; a view on dim 0, else a copy */               \
  X(permute, 1, 1, shape)                   /* attrs dims */                                                          \
  X(concat, -1, 1, shape)                   /* attrs dim */                                                           \
  X(split, 1, 1, shape)                     /* attrs dim, sizes: one output per size */                               \
  /* Reductions and losses. */                                                                                        \
  X(sum, 1, 1, reduce)                      /* attrs dims (none = all), keepdim=0 */                                  \
  X(mean, 1, 1, reduce)                     /* attrs dims (none = all), keepdim=0 */                                  \
  X(mse_loss, 2, 1, reduce)                 /* (a-b)^2 reduced; attrs reduction="mean"|"sum"|"none" */                \
  X(cross_entropy, 2, 1, reduce)            /* logits[N,C], targets[N] (i32/i64); attrs ignore_index=-100,            \
                                               reduction="mean" (over non-ignored rows)|"sum"|"none";                 \
                                               grad to logits only */                                                 \
  /* Random numbers: Philox 4x32-10, the same stream on every device and thread count. */                             \
  X(randn, 0, 0, random)                    /* attrs shape, seed, offset=0 -> f32 standard normal */                  \
  X(rand, 0, 0, random)                     /* attrs shape, seed, offset=0 -> f32 uniform [0,1) */                    \
  /* Diffusion schedulers: one fused elementwise step; the host forms the scalars. */                                 \
  X(scheduler_step, 4, 0, scheduler)        /* sample, model_output, prev_x0 optional, noise optional, all            \
                                               one shape, f32. x0 = x0_sample*sample + x0_model*                      \
                                               model_output, clamped to [-clip, clip] when clip > 0;                  \
                                               prev = sample_coef*sample + model_coef*model_output +                  \
                                               x0_coef*x0 + prev_x0_coef*prev_x0 + noise_coef*noise (a                \
                                               missing input needs coefficient 0). Outputs prev, x0. Every            \
                                               attr defaults to 0; f32 with fused multiply-adds in that               \
                                               order on every SIMD level. attr guidance g (optional):                 \
                                               model_output is [uncond; cond] (2x sample's batch) and                 \
                                               stands for fma(g, cond - uncond, uncond) above: the                    \
                                               classifier-free-guidance combine in the same pass. */                  \
  /* Optimisation, in place, never recorded. */                                                                       \
  X(adamw, 4, 0, optim)                     /* param, grad, exp_avg, exp_avg_sq updated in place (torch               \
                                               AdamW); attrs lr, beta1=0.9, beta2=0.999, eps=1e-8,                    \
                                               weight_decay=0.01, step (1-based). Returns nothing. */                 \
  X(clip_grad_norm, -1, 0, optim)           /* grads scaled in place by min(1, max_norm/(norm+1e-6)) as               \
                                               torch.nn.utils.clip_grad_norm_; attrs max_norm; returns the            \
                                               total L2 norm before clipping as f32[] */


// The fused backward kernels (internal; see the header). Attribute `needs` (a list of 0/1,
// one per gradient output; default all) of a kernel with several outputs says which to
// compute: the others come back undefined. Gradients have the backend's gradient dtype
// (CPU f32; CUDA the dtype of the input they belong to).
#define VLV_GRAD_KERNELS(X)                                                                                           \
  X(expand, 1, 0, elementwise)              /* x broadcast (NumPy) to attrs shape, materialised: the adjoint          \
                                               of sum / mean and mse_loss's scalar gradient */                        \
  X(unary_backward, 3, 0, elementwise)      /* x, y, gy -> gy * dy/dx(x, y) of the unary op attrs op (a name of       \
                                               VLV_UNARY_OPS; y its output) */                                        \
  X(activation_backward, 2, 0, activation)  /* x, gy -> gy * f'(x); attrs activation="gelu"|"gelu_tanh"|"silu"|       \
                                               "quick_gelu" (the standalone ops and linear's fused one on             \
                                               its saved pre-activation) */                                           \
  X(gated_backward, 3, 0, activation)       /* a, b, gy -> (ga, gb); attrs kind="geglu" (a = x[...,2H], b             \
                                               undefined, approximate as geglu; gb undefined) | "swiglu"              \
                                               (a = gate, b = up), needs */                                           \
  X(linear_backward_input, 2, 0, gemm)      /* gy[...,out], w[out,in] -> gy @ w [...,in]; w in any dtype linear       \
                                               takes (a 16-bit weight stays 16-bit on the CPU) */                     \
  X(conv2d_backward, 3, 0, conv)            /* x, w, gy -> (gx, gw); attrs conv2d's, needs (the bias gradient         \
                                               is a sum, composed) */                                                 \
  X(group_norm_backward, 5, 0, norm)        /* x, weight, bias, stats, gy -> (gx, gw, gb); weight, bias               \
                                               optional; attrs groups, silu, needs */                                 \
  X(layer_norm_backward, 5, 0, norm)        /* x, weight, bias, stats, gy -> (gx, gw, gb); attrs needs */             \
  X(rms_norm_backward, 4, 0, norm)          /* x, weight, stats, gy -> (gx, gw); attrs needs */                       \
  X(softmax_backward, 2, 0, norm)           /* y, gy -> y * (gy - rowsum(gy * y)) */                                  \
  X(attention_backward, 7, 0, attention)    /* q, k, v, mask, out, lse, gout -> (gq, gk, gv); attrs attention's,      \
                                               needs */                                                               \
  X(embedding_backward, 3, 0, embedding)    /* weight, ids, gy -> the scatter-add of gy into a zero [V,D]             \
                                               (weight read for its shape and dtype) */                               \
  X(rope_backward, 2, 0, embedding)         /* gy[B,H,L,D], positions -> gy rotated by -angle; attrs theta */         \
  X(cross_entropy_backward, 4, 0, reduce)   /* logits, targets, lse, gy -> d logits; attrs cross_entropy's */

// clang-format on

// Both lists: what the OpId enum and the kernel tables cover.
#define VLV_ALL_OPS(X) VLV_OPS(X) VLV_GRAD_KERNELS(X)

namespace vlv {

enum class OpId : uint16_t {
#define VLV_OP_ENUM(name, inputs, bwd, family) name,
  VLV_ALL_OPS(VLV_OP_ENUM)
#undef VLV_OP_ENUM
      kCount
};

constexpr int kNumOps = int(OpId::kCount);  // both lists
#define VLV_OP_COUNT(name, inputs, bwd, family) +1
constexpr int kNumUserOps = 0 VLV_OPS(VLV_OP_COUNT);  // VLV_OPS: OpId(0) .. OpId(kNumUserOps - 1)
#undef VLV_OP_COUNT

// The unary ops' codes (the order of VLV_UNARY_OPS), as the kernels and the CUDA ABI take them.
enum class UnaryOp : int {
#define VLV_UNARY_ENUM(X, name, f, dfdx) name,
  VLV_UNARY_OPS(VLV_UNARY_ENUM, _)
#undef VLV_UNARY_ENUM
};

struct OpInfo {
  const char* name;
  int inputs;  // -1: variadic
  bool has_backward;
  const char* family;
  bool internal;  // a row of VLV_GRAD_KERNELS
};

const OpInfo& op_info(OpId id);
OpId op_from_name(const char* name);  // a user op (VLV_OPS); throws E_ARG listing nothing but the bad name

}  // namespace vlv
