// CUDA kernel table, the optimiser (kernels: kernels/optim.cu): adamw (one multi-tensor
// launch per 16 tensors) and clip_grad_norm (no host round trip).
#include "ops/check/optim.h"
#include "ops/cuda/common.h"
#include "ops/cuda/table.h"

namespace vlv::cudaops {

namespace {
VlvCudaMulti multi(const Tensor& t) {
  VlvCudaMulti m{};
  m.p[0] = t.raw();
  m.n = t.numel();
  m.dtype = dt(t.dtype());
  return m;
}
}  // namespace

Tensors adamw(const Tensors& in, const Attrs& attrs, Saved*) {
  const char* names[4] = {"param", "grad", "exp_avg", "exp_avg_sq"};
  for (size_t i = 0; i < 4; ++i) check_cuda_float(input(in, i), "adamw", names[i]);
  const Tensor &p = in[0], &g = in[1], &m = in[2], &v = in[3];
  for (const Tensor* t : {&g, &m, &v})
    VLV_CHECK(t->shape() == p.shape(), ErrorCode::Shape, "adamw: param ", p.desc(), ", grad ", g.desc(), ", exp_avg ",
              m.desc(), " and exp_avg_sq ", v.desc(), " must have the same shape");
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
