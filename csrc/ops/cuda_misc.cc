// CUDA kernel table, embeddings, random numbers and the optimiser (kernels:
// csrc/cuda/embedding.cu, random.cu, optim.cu): embedding (+ deterministic scatter-add
// backward), rope (+ the rotation by -angle), randn / rand (the CPU's Philox stream),
// adamw (one multi-tensor launch per 16 tensors) and clip_grad_norm (no host round trip).
// timestep_embedding ([N] timesteps, no backward) runs on the device (timestep_embedding.cu):
// no host round trip, so a UNet call can be captured into a CUDA graph.
#include "ops/cuda_common.h"
#include "ops/cuda_ops.h"
#include "ops/embedding_args.h"
#include "ops/optim_args.h"
#include "ops/timestep_args.h"

namespace vlv::cudaops {

namespace {
Tensor rope_rotate(const Tensor& x, const Tensor& pos, double theta, int sign) {
  const int64_t B = x.size(0), H = x.size(1), L = x.size(2), D = x.size(3);
  Tensor y = empty(x.shape(), x.dtype());
  ck(api().rope(dt(x.dtype()), B, H, L, D, x.raw(), dt(pos.dtype()), pos.raw(), pos.dim() == 2, float(theta), sign,
                y.raw()),
     "rope");
  return y;
}

Tensor random_stream(bool normal, const Attrs& attrs) {
  const RandomArgs a = random_args(attrs);
  Tensor y = empty(a.shape, DType::F32);
  ck(api().philox(normal, a.seed, a.offset, y.numel(), y.data<float>()), normal ? "randn" : "rand");
  return y;
}

VlvCudaMulti multi(const Tensor& t) {
  VlvCudaMulti m{};
  m.p[0] = t.raw();
  m.n = t.numel();
  m.dtype = dt(t.dtype());
  return m;
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
Tensors embedding_backward(const BackwardArgs& g) {
  const Tensor& go = g.grad_outputs[0];
  if (!go.defined() || !g.needs_grad[0]) return {Tensor(), Tensor()};
  const Tensor &w = g.inputs[0], &ids = g.inputs[1];
  Tensor gw = empty(w.shape(), DType::F32);
  ck(api().embedding_backward(dt(w.dtype()), w.size(0), w.size(1), ids.numel(), dt(ids.dtype()), ids.raw(),
                              cast_to(go, w.dtype()).raw(), gw.raw()),
     "embedding backward");
  return {cast_to(gw, w.dtype()), Tensor()};
}

Tensors rope(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor &x = input(in, 0), &pos = input(in, 1);
  check_cuda_float(x, "rope", "x");
  return {rope_rotate(x, pos, rope_args(x, pos, attrs), 1)};
}
Tensors rope_backward(const BackwardArgs& g) {
  const Tensor& go = g.grad_outputs[0];
  if (!go.defined() || !g.needs_grad[0]) return {Tensor(), Tensor()};
  // theta was checked by the forward.
  return {rope_rotate(cast_to(go, g.inputs[0].dtype()), g.inputs[1], g.attrs.f("theta", 10000), -1), Tensor()};
}

Tensors timestep_embedding(const Tensors& in, const Attrs& attrs, Saved*) {
  const Tensor& t = input(in, 0);
  const TimestepArgs a = timestep_args(t, attrs);
  const VlvCudaTimestep c{a.n, a.dim, a.half, a.flip, a.shift, a.scale, a.max_period};
  Tensor y = empty({a.n, a.dim}, DType::F32);
  ck(api().timestep_embedding(&c, dt(t.dtype()), t.raw(), y.data<float>()), "timestep_embedding");
  return {y};
}

Tensors randn(const Tensors&, const Attrs& attrs, Saved*) { return {random_stream(true, attrs)}; }
Tensors rand(const Tensors&, const Attrs& attrs, Saved*) { return {random_stream(false, attrs)}; }

Tensors adamw(const Tensors& in, const Attrs& attrs, Saved*) {
  const char* names[4] = {"param", "grad", "exp_avg", "exp_avg_sq"};
  for (size_t i = 0; i < 4; ++i) check_cuda_float(input(in, i), "adamw", names[i]);
  const Tensor &p = in[0], &g = in[1], &m = in[2], &v = in[3];
  for (const Tensor* t : {&g, &m, &v})
    VLV_CHECK(t->shape() == p.shape(), ErrorCode::Shape, "adamw: param ", p.desc(), ", grad ", g.desc(),
              ", exp_avg ", m.desc(), " and exp_avg_sq ", v.desc(), " must have the same shape");
  VLV_CHECK(g.dtype() == p.dtype() && m.dtype() == DType::F32 && v.dtype() == DType::F32, ErrorCode::DType,
            "adamw: grad must have the param's dtype and the moments must be f32 (param ", p.desc(), ", grad ",
            g.desc(), ", exp_avg ", m.desc(), ", exp_avg_sq ", v.desc(), ")");
  const AdamWArgs h = adamw_args(attrs);
  const double lr = h.lr, b1 = h.beta1, b2 = h.beta2, eps = h.eps, wd = h.weight_decay;
  const int64_t step = h.step;
  VlvCudaMulti t = multi(p);
  t.p[1] = g.raw();
  t.p[2] = m.raw();
  t.p[3] = v.raw();
  ck(api().adamw(1, &t, lr, b1, b2, eps, wd, step), "adamw");
  return {};
}

Tensors clip_grad_norm(const Tensors& in, const Attrs& attrs, Saved*) {
  const double max_norm = attrs.f("max_norm");
  VLV_CHECK(max_norm >= 0, ErrorCode::Arg, "clip_grad_norm: attribute 'max_norm' must be >= 0, got ", max_norm);
  std::vector<VlvCudaMulti> ts;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i].defined()) continue;
    check_cuda_float(in[i], "clip_grad_norm", "grad");
    ts.push_back(multi(in[i]));
  }
  Tensor norm = empty({}, DType::F32);
  ck(api().clip_grad_norm(int(ts.size()), ts.data(), max_norm, norm.data<float>()), "clip_grad_norm");
  return {norm};
}

}  // namespace vlv::cudaops
