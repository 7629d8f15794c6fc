#include "ops/cuda/common.h"

namespace vlv::cudaops {

const VlvCudaApi& api() {
  const VlvCudaApi* a = loaded_api();
  VLV_CHECK(a, ErrorCode::Device, "the CUDA backend is not loaded (see info())");
  return *a;
}

void ck(int rc, const char* op) {
  if (rc == VLV_CUDA_OK) return;
  ErrorCode code = rc == VLV_CUDA_E_OOM ? ErrorCode::OOM : rc == VLV_CUDA_E_ARG ? ErrorCode::Arg : ErrorCode::Device;
  fail(code, op, ": ", api().last_error());
}

Tensor empty(const Shape& shape, DType dtype) { return Tensor::empty(shape, dtype, Device::CUDA); }

Tensor zeros(const Shape& shape, DType dtype) { return Tensor::zeros(shape, dtype, Device::CUDA); }

int dt(DType d) { return int(d); }  // abi.h numbers the dtypes as vlv::DType

void check_cuda_float(const Tensor& t, const char* op, const char* arg) {
  check_defined(t, op, arg);
  VLV_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::BF16 || t.dtype() == DType::F16, ErrorCode::DType, op, ": '",
            arg, "' must be f32, bf16 or f16 on CUDA, got ", t.desc());
  VLV_CHECK(t.device() == Device::CUDA, ErrorCode::Device, op, ": '", arg, "' is not on the CUDA device");
}

std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t d = int64_t(shape.size()) - 2; d >= 0; --d) s[size_t(d)] = s[size_t(d) + 1] * shape[size_t(d) + 1];
  return s;
}

VlvCudaView view(const Shape& shape, const std::vector<int64_t>& strides, const char* op) {
  VLV_CHECK(shape.size() <= VLV_CUDA_MAX_DIMS, ErrorCode::Shape, op, ": at most ", VLV_CUDA_MAX_DIMS,
            " dims on CUDA, got ", shape_str(shape));
  VlvCudaView v{};
  v.ndim = int(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    v.shape[d] = shape[d];
    v.strides[d] = strides[d];
  }
  return v;
}

Tensor reduce(const Tensor& x, const std::vector<bool>& red, float scale, bool keepdim, DType out_dt) {
  std::vector<int64_t> xs = strides_of(x.shape());
  Shape kept, kept_st, rs, rst, out_shape;
  for (size_t d = 0; d < x.shape().size(); ++d) {
    if (red[d]) {
      rs.push_back(x.shape()[d]);
      rst.push_back(xs[d]);
      if (keepdim) out_shape.push_back(1);
    } else {
      kept.push_back(x.shape()[d]);
      kept_st.push_back(xs[d]);
      out_shape.push_back(x.shape()[d]);
    }
  }
  Tensor y = empty(out_shape, out_dt);
  VlvCudaView k = view(kept, kept_st, "sum"), r = view(rs, rst, "sum");
  ck(api().reduce_sum(dt(x.dtype()), &k, &r, x.raw(), scale, dt(out_dt), y.raw()), "sum");
  return y;
}

Tensor expand(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  std::vector<int64_t> xs = strides_of(x.shape()), src(shape.size(), 0);
  const size_t lead = shape.size() - x.shape().size();
  for (size_t d = lead; d < shape.size(); ++d) src[d] = x.shape()[d - lead] == 1 ? 0 : xs[d - lead];
  Tensor y = empty(shape, x.dtype());
  VlvCudaView v = view(shape, src, "expand");
  std::vector<int64_t> dst = strides_of(shape);
  ck(api().copy_strided(int(dtype_size(x.dtype())), &v, x.raw(), dst.data(), y.raw()), "expand");
  return y;
}

Tensor cast_to(const Tensor& x, DType d) {
  if (x.dtype() == d) return x;
  Tensor y = empty(x.shape(), d);
  ck(api().cast(dt(x.dtype()), dt(d), x.numel(), x.raw(), y.raw()), "cast");
  return y;
}

}  // namespace vlv::cudaops
