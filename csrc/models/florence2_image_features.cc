// Florence-2 image features (see florence2_image_features.h). Formulas from the reference:
//   pos[y, x] = concat(column_embeddings[x], row_embeddings[y])  (column part first)
//   t        = pos_idx_to_embed[0]  (the stored cosine table's frame-0 row)
//   z        = tokens + pos + t
//   out      = LayerNorm(concat(sources(z)) @ image_projection)
// The reference views the token grid as square (sqrt of the count); the real (h, w) of the
// tower is used here, which is the same for square maps and extends it to others.
#include "models/florence2_image_features.h"

namespace vlv::models {

ImageProjection::ImageProjection(const DavitVisionConfig& c, const WeightBuilder& vb, int64_t dim) : dim_(dim) {
  const int64_t max_pos = c.image_pos_embed.max_pos_embeddings;
  const int64_t max_t = c.visual_temporal_embedding.max_temporal_embeddings;
  const int64_t proj_dim = c.projection_dim;
  for (const std::string& s : c.image_feature_source)
    sources_.push_back(s == "spatial_avg_pool" ? Source::SpatialAvg : Source::AllPositions);

  row_embeddings_ = vb.take("image_pos_embed.row_embeddings.weight", {max_pos, dim / 2});
  column_embeddings_ = vb.take("image_pos_embed.column_embeddings.weight", {max_pos, dim - dim / 2});
  temporal_ = vb.take("visual_temporal_embed.pos_idx_to_embed", {max_t, dim});
  projection_ = vb.take("image_projection", {dim, proj_dim});
  norm_ = LayerNorm::load(vb.at("image_proj_norm"), proj_dim, 1e-5);
}

Tensor ImageProjection::operator()(const Tensor& tokens, int64_t h, int64_t w) const {
  int64_t max_pos = row_embeddings_.size(0);
  VLV_CHECK(tokens.dim() == 3 && tokens.size(1) == h * w && tokens.size(2) == dim_, ErrorCode::Shape,
            "florence2 image features: tokens must be [B, ", h * w, ", ", dim_, "], got ", tokens.desc());
  VLV_CHECK(h <= max_pos && w <= max_pos, ErrorCode::Shape, "florence2 image features: a ", h, "x", w,
            " feature map exceeds max_pos_embeddings ", max_pos);
  int64_t dc = column_embeddings_.size(1), dr = row_embeddings_.size(1);
  Tensor cols = ops::add(ops::reshape(ops::slice(column_embeddings_, 0, 0, w), {1, w, dc}),
                         Tensor::zeros({h, w, dc}, DType::F32, tokens.device()));
  Tensor rows = ops::add(ops::reshape(ops::slice(row_embeddings_, 0, 0, h), {h, 1, dr}),
                         Tensor::zeros({h, w, dr}, DType::F32, tokens.device()));
  Tensor pos = ops::reshape(ops::concat({cols, rows}, 2), {h * w, dim_});
  Tensor z = ops::add(ops::add(tokens, pos), ops::slice(temporal_, 0, 0, 1));

  Tensors parts;
  for (Source s : sources_) parts.push_back(s == Source::SpatialAvg ? ops::mean(z, {1}, true) : z);
  Tensor x = parts.size() == 1 ? parts[0] : ops::concat(parts, 1);
  return norm_(ops::matmul(x, projection_));
}

}  // namespace vlv::models
