// CUDA kernel table, embeddings (kernels: kernels/embedding.cu, embedding_timestep.cu):
// embedding (+ embedding_backward, the deterministic scatter-add), rope (+ rope_backward,
// the rotation by -angle), and timestep_embedding ([N] timesteps, no backward) on the
// device: no host round trip, so a UNet call can be captured into a CUDA graph. The
// *_backward kernels are the fused backward kernels of ops.h (rules: ops/grad/embedding.cc).
#include "ops/check/embedding.h"
#include "ops/check/embedding_timestep.h"
#include "ops/cuda/common.h"
#include "ops/cuda/table.h"

namespace vlv::cudaops {

namespace {
Tensor rope_rotate(const Tensor& x, const Tensor& pos, double theta, int sign, const Attrs& attrs) {
  const int64_t B = x.size(0), H = x.size(1), L = x.size(2), D = x.size(3);
  Tensor y = empty(x.shape(), x.dtype());
  ck(api().rope(dt(x.dtype()), B, H, L, D, x.raw(), dt(pos.dtype()), pos.raw(), pos.dim() == 2, float(theta), sign,
                int(attrs.i("bf16_tables", 0) != 0), y.raw()),
     "rope");
  return y;
}

}  // namespace

Tensors embedding(const Tensors& in, const Attrs&, Saved*) {
  const Tensor &w = input(in, 0), &ids = input(in, 1);
  check_cuda_float(w, "embedding", "weight");
  VLV_CHECK(w.dim() == 2, ErrorCode::Shape, "embedding: weight ", w.desc(), " must be [V, D]");
  check_ids(ids, "embedding", "ids");
  Shape out = ids.shape();
  out.push_back(w.size(1));
  Tensor y = empty(out, w.dtype());
  ck(api().embedding(dt(w.dtype()), w.size(0), w.size(1), w.raw(), ids.numel(), dt(ids.dtype()), ids.raw(), y.raw()),
     "embedding");
  return {y};
}
// weight (for its shape and dtype), ids, gy -> the weight's gradient in its dtype.
Tensors embedding_backward(const Tensors& in, const Attrs&, Saved*) {
  const Tensor &w = input(in, 0), &ids = input(in, 1), &go = input(in, 2);
  Tensor gw = empty(w.shape(), DType::F32);
  ck(api().embedding_backward(dt(w.dtype()), w.size(0), w.size(1), ids.numel(), dt(ids.dtype()), ids.raw(),
                              cast_to(go, w.dtype()).raw(), gw.raw()),
     "embedding backward");
  return {cast_to(gw, w.dtype())};
}

Tensors rope(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor &x = input(in, 0), &pos = input(in, 1);
  check_cuda_float(x, "rope", "x");
  return {rope_rotate(x, pos, rope_args(x, pos, attrs), 1, attrs)};
}
// gy, positions -> gy rotated by -angle (theta was checked by the forward).
Tensors rope_backward(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor &go = input(in, 0), &pos = input(in, 1);
  check_cuda_float(go, "rope_backward", "grad");
  return {rope_rotate(go, pos, attrs.f("theta", 10000), -1, attrs)};
}

Tensors timestep_embedding(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& t = input(in, 0);
  const TimestepArgs a = timestep_args(t, attrs);
  const VlvCudaTimestep c{a.n, a.dim, a.half, a.flip, a.shift, a.scale, a.max_period};
  Tensor y = empty({a.n, a.dim}, DType::F32);
  ck(api().timestep_embedding(&c, dt(t.dtype()), t.raw(), y.data<float>()), "timestep_embedding");
  return {y};
}

}  // namespace vlv::cudaops
