#include "models/resampling2d.h"

#include <cmath>

namespace vlv::models {

namespace {

// Zeros shaped like x with size 1 along dim, on x's device (F.pad's zero row/column).
Tensor zero_strip(const Tensor& x, int64_t dim) {
  Shape s = x.shape();
  s[size_t(dim)] = 1;
  return Tensor::zeros(s, x.dtype(), x.device());
}

// Nearest resize along one spatial dim (2 or 3) of [N, C, H, W] as a row gather: the resized
// dim moves to the front and the embedding op picks rows (its backward scatter-adds).
Tensor resize_dim(const Tensor& x, int64_t dim, int64_t out) {
  int64_t in = x.size(dim);
  if (in == out) return x;
  Tensor ids = Tensor::empty({out}, DType::I64);
  const float scale = float(in) / float(out);  // torch's compute_scales_value, in float
  for (int64_t i = 0; i < out; ++i)
    ids.data<int64_t>()[i] = out == 2 * in ? i / 2 : std::min(int64_t(std::floor(float(i) * scale)), in - 1);
  std::vector<int64_t> to_front = dim == 2 ? std::vector<int64_t>{2, 0, 1, 3} : std::vector<int64_t>{3, 0, 1, 2};
  std::vector<int64_t> back = dim == 2 ? std::vector<int64_t>{1, 2, 0, 3} : std::vector<int64_t>{1, 2, 3, 0};
  Tensor rows = ops::permute(x, to_front);
  Shape s = rows.shape();
  Tensor picked = ops::embedding(ops::reshape(rows, {in, rows.numel() / in}), ids);
  s[0] = out;
  return ops::permute(ops::reshape(picked, s), back);
}

}  // namespace

Tensor resize_nearest(const Tensor& x, int64_t out_h, int64_t out_w) {
  VLV_CHECK(x.dim() == 4 && out_h > 0 && out_w > 0, ErrorCode::Shape, "resize_nearest: x must be [N, C, H, W], got ",
            x.desc(), " to ", out_h, "x", out_w);
  if (out_h == 2 * x.size(2) && out_w == 2 * x.size(3)) return ops::upsample_nearest2x(x);
  return resize_dim(resize_dim(x, 2, out_h), 3, out_w);
}

Downsample2D Downsample2D::load(const WeightBuilder& vb, int64_t channels, int64_t padding) {
  Downsample2D d;
  d.conv = Conv2d::load(vb.at("conv"), channels, channels, 3, 2, padding);
  return d;
}

Tensor Downsample2D::operator()(const Tensor& x) const {
  if (conv.padding != 0) return conv(x);
  Tensor padded = ops::concat({x, zero_strip(x, 3)}, 3);
  return conv(ops::concat({padded, zero_strip(padded, 2)}, 2));
}

Upsample2D Upsample2D::load(const WeightBuilder& vb, int64_t channels) {
  Upsample2D u;
  u.conv = Conv2d::load(vb.at("conv"), channels, channels, 3, 1, 1);
  return u;
}

Tensor Upsample2D::operator()(const Tensor& x, int64_t out_h, int64_t out_w) const {
  return conv(out_h > 0 ? resize_nearest(x, out_h, out_w) : ops::upsample_nearest2x(x));
}

}  // namespace vlv::models
