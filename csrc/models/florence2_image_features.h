// Florence-2's _encode_image after the vision tower: learned 2-D position embedding, cosine
// temporal embedding of frame 0 (one image = one frame), the configured token sources
// (spatial_avg_pool: the mean over positions, 1 token; temporal_avg_pool / last_frame: every
// position, identical for one frame), image_projection, image_proj_norm.
#pragma once
#include <string>
#include <vector>

#include "models/florence2_config.h"
#include "models/layers.h"

namespace vlv::models {

class ImageProjection {
 public:
  // From vision_config's image_pos_embed, visual_temporal_embedding, image_feature_source
  // and projection_dim; `dim` is the tower's output width. Its weights under vb:
  // image_pos_embed.*, visual_temporal_embed.*, image_projection, image_proj_norm.*.
  ImageProjection(const DavitVisionConfig& vision, const WeightBuilder& vb, int64_t dim);

  // tokens [B, h*w, dim] (row-major) -> [B, sources' tokens, projection_dim].
  Tensor operator()(const Tensor& tokens, int64_t h, int64_t w) const;

 private:
  enum class Source { SpatialAvg, AllPositions };
  int64_t dim_;
  std::vector<Source> sources_;
  Tensor row_embeddings_, column_embeddings_;  // [max_pos, dim/2], [max_pos, dim - dim/2]
  Tensor temporal_;                            // [max_temporal, dim]; row 0 is used
  Tensor projection_;                          // [dim, projection_dim]
  LayerNorm norm_;
};

}  // namespace vlv::models
