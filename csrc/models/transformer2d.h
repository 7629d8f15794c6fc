// diffusers Transformer2DModel (continuous input) with its BasicTransformerBlocks, as the
// UNet's cross-attention blocks use them:
//   h = norm(x) (GroupNorm, eps 1e-6); proj_in (Linear over channels when
//   use_linear_projection, else a 1x1 conv: the same map, applied here as a Linear on the
//   conv's [out, in, 1, 1] weight viewed as [out, in]); tokens [B, H*W, inner];
//   each block: h += attn1(norm1(h)) (self-attention, or cross-attention to the context when
//   only_cross_attention); h += attn2(norm2(h), context); h += ff(norm3(h)) with GEGLU;
//   proj_out back to channels; out = h + x.
// Attention: to_q/to_k/to_v without bias, to_out.0 with bias, heads of inner/heads, scale
// 1/sqrt(head dim). The optional context mask is an additive bias [B, 1, 1, Lk].
#pragma once
#include <string>
#include <vector>

#include "models/conv_layers.h"
#include "models/layers.h"

namespace vlv::models {

struct TransformerOptions {
  int64_t heads = 8;
  int64_t layers = 1;  // transformer_layers_per_block
  int64_t cross_attention_dim = 768;
  int64_t groups = 32;             // norm_num_groups
  bool linear_projection = false;  // use_linear_projection
  bool only_cross_attention = false;
};

struct CrossAttention {
  Linear to_q, to_k, to_v, to_out;
  int64_t heads = 1;
  static CrossAttention load(const WeightBuilder& vb, int64_t query_dim, int64_t context_dim, int64_t heads,
                             int64_t head_dim);
  Tensor operator()(const Tensor& x, const Tensor& context, const Tensor& mask) const;
};

struct BasicTransformerBlock {
  LayerNorm norm1, norm2, norm3;
  CrossAttention attn1, attn2;
  Linear ff_in, ff_out;  // ff.net.0.proj (to 2 * inner, GEGLU), ff.net.2
  bool only_cross_attention = false;
  static BasicTransformerBlock load(const WeightBuilder& vb, int64_t inner, int64_t head_dim,
                                    const TransformerOptions& opt);
  Tensor operator()(const Tensor& h, const Tensor& context, const Tensor& mask) const;
};

struct Transformer2D {
  GroupNorm norm;
  Tensor proj_in_w, proj_in_b, proj_out_w, proj_out_b;  // as stored (Linear or 1x1 conv)
  std::vector<BasicTransformerBlock> blocks;
  TransformerOptions opt;
  int64_t channels = 0, inner = 0;

  static Transformer2D load(const WeightBuilder& vb, int64_t channels, const TransformerOptions& opt);
  // x [B, C, H, W]; context [B, L, cross_attention_dim]; mask [B, 1, 1, L] f32 or undefined.
  Tensor operator()(const Tensor& x, const Tensor& context, const Tensor& mask) const;
};

}  // namespace vlv::models
