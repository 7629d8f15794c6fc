#include "core/tensor.h"

#include <cstdlib>
#include <sstream>

#include "core/autograd_meta.h"
#include "core/backend.h"

namespace vlv {

namespace {
std::atomic<size_t> g_cpu_bytes{0};
}

const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
  os << "]";
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    VLV_CHECK(d >= 0, ErrorCode::Shape, "negative dimension in shape ", shape_str(s));
    VLV_CHECK(d == 0 || n <= (int64_t(1) << 50) / d, ErrorCode::Shape, "shape ", shape_str(s),
              " has too many elements");
    n *= d;
  }
  return n;
}

Storage::Storage(void* data, size_t nbytes, Device device, std::function<void(void*)> release)
    : data_(data), nbytes_(nbytes), device_(device), release_(std::move(release)) {}

Storage::~Storage() {
  if (release_) release_(data_);
}

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  if (device != Device::CPU) return backend(device).allocate(nbytes);
  size_t rounded = (nbytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) fail(ErrorCode::OOM, "out of memory: could not allocate ", nbytes, " bytes on the CPU");
  g_cpu_bytes += rounded;
  return std::make_shared<Storage>(p, nbytes, Device::CPU, [rounded](void* q) {
    std::free(q);
    g_cpu_bytes -= rounded;
  });
}

size_t Storage::cpu_bytes_in_use() { return g_cpu_bytes.load(); }

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ = Storage::allocate(size_t(t.numel_) * dtype_size(dtype), device);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  backend(device).fill_zero(t.raw(), t.nbytes());
  return t;
}

Tensor Tensor::full(const Shape& shape, float value, DType dtype) {
  Tensor t = empty(shape, DType::F32);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = value;
  return dtype == DType::F32 ? t : t.to(dtype);
}

Tensor Tensor::from_storage(std::shared_ptr<Storage> storage, size_t byte_offset, const Shape& shape, DType dtype) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  VLV_CHECK(byte_offset + size_t(t.numel_) * dtype_size(dtype) <= storage->nbytes(), ErrorCode::Internal,
            "tensor view past the end of its storage");
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.byte_offset_ = byte_offset;
  t.storage_ = std::move(storage);
  return t;
}

int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  if (d < 0) d += n;
  VLV_CHECK(d >= 0 && d < n, ErrorCode::Arg, "dimension ", d, " out of range for ", desc());
  return shape_[size_t(d)];
}

template <class T>
T* Tensor::data() const {
  VLV_CHECK(defined(), ErrorCode::Internal, "data() of an undefined tensor");
  bool ok = false;
  if constexpr (std::is_same_v<T, float>) ok = dtype_ == DType::F32;
  else if constexpr (std::is_same_v<T, double>) ok = dtype_ == DType::F64;
  else if constexpr (std::is_same_v<T, int32_t>) ok = dtype_ == DType::I32;
  else if constexpr (std::is_same_v<T, int64_t>) ok = dtype_ == DType::I64;
  else if constexpr (std::is_same_v<T, uint8_t>) ok = dtype_ == DType::U8 || dtype_ == DType::Bool;
  else if constexpr (std::is_same_v<T, uint16_t>) ok = dtype_ == DType::BF16 || dtype_ == DType::F16;
  VLV_CHECK(ok, ErrorCode::DType, "tensor ", desc(), " read with the wrong element type");
  return static_cast<T*>(raw());
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template int32_t* Tensor::data<int32_t>() const;
template int64_t* Tensor::data<int64_t>() const;
template uint8_t* Tensor::data<uint8_t>() const;
template uint16_t* Tensor::data<uint16_t>() const;

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      VLV_CHECK(infer < 0, ErrorCode::Shape, "reshape: more than one -1 in ", shape_str(shape));
      infer = int(i);
    } else {
      VLV_CHECK(s[i] >= 0, ErrorCode::Shape, "reshape: bad shape ", shape_str(shape));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    VLV_CHECK(known > 0 && numel_ % known == 0, ErrorCode::Shape, "reshape: cannot infer -1 in ", shape_str(shape),
              " for ", desc());
    s[size_t(infer)] = numel_ / known;
  }
  VLV_CHECK(shape_numel(s) == numel_, ErrorCode::Shape, "reshape: ", desc(), " cannot become ", shape_str(s));
  Tensor t = *this;
  t.meta_.reset();
  t.shape_ = s;
  return t;
}

Tensor Tensor::slice0(int64_t begin, int64_t end) const {
  VLV_CHECK(dim() >= 1, ErrorCode::Shape, "slice0 of a scalar");
  VLV_CHECK(0 <= begin && begin <= end && end <= shape_[0], ErrorCode::Arg, "slice [", begin, ",", end,
            ") out of range for ", desc());
  Tensor t = *this;
  t.meta_.reset();
  int64_t row = shape_[0] ? numel_ / shape_[0] : 0;
  t.shape_[0] = end - begin;
  t.numel_ = row * (end - begin);
  t.byte_offset_ += size_t(begin * row) * dtype_size(dtype_);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device());
  backend(device()).copy(t.raw(), device(), raw(), device(), nbytes());
  return t;
}

Tensor Tensor::to(Device device) const {
  check_defined(*this, "to", "tensor");
  if (this->device() == device) return *this;
  Tensor t = empty(shape_, dtype_, device);
  Device far = device == Device::CPU ? this->device() : device;  // the backend that does the copy
  backend(far).copy(t.raw(), device, raw(), this->device(), nbytes());
  return t;
}

void Tensor::copy_from(const Tensor& src) const {
  VLV_CHECK(shape_ == src.shape() && dtype_ == src.dtype(), ErrorCode::Shape, "copy_from: ", src.desc(),
            " does not fit ", desc());
  Device far = device() == Device::CPU ? src.device() : device();
  backend(far).copy(raw(), device(), src.raw(), src.device(), nbytes());
}

namespace {
double load_as_double(const void* p, DType dt, int64_t i) {
  switch (dt) {
    case DType::F32: return static_cast<const float*>(p)[i];
    case DType::F64: return static_cast<const double*>(p)[i];
    case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::I32: return static_cast<const int32_t*>(p)[i];
    case DType::I64: return double(static_cast<const int64_t*>(p)[i]);
    case DType::U8: return static_cast<const uint8_t*>(p)[i];
    case DType::Bool: return static_cast<const uint8_t*>(p)[i] ? 1.0 : 0.0;
  }
  return 0;
}
void store_double(void* p, DType dt, int64_t i, double v) {
  switch (dt) {
    case DType::F32: static_cast<float*>(p)[i] = float(v); break;
    case DType::F64: static_cast<double*>(p)[i] = v; break;
    case DType::BF16: static_cast<uint16_t*>(p)[i] = f32_to_bf16(float(v)); break;
    case DType::F16: static_cast<uint16_t*>(p)[i] = f32_to_f16(float(v)); break;
    case DType::I32: static_cast<int32_t*>(p)[i] = int32_t(v); break;
    case DType::I64: static_cast<int64_t*>(p)[i] = int64_t(v); break;
    case DType::U8: static_cast<uint8_t*>(p)[i] = uint8_t(v); break;
    case DType::Bool: static_cast<uint8_t*>(p)[i] = v != 0; break;
  }
}
}  // namespace

Tensor Tensor::to(DType dtype) const {
  VLV_CHECK(device() == Device::CPU, ErrorCode::Device, "Tensor::to(dtype) on ", device_name(device()),
            " goes through the cast op");
  if (dtype == dtype_) return clone();
  Tensor t = empty(shape_, dtype);
  const void* src = raw();
  void* dst = t.raw();
  if (dtype_ == DType::BF16 && dtype == DType::F32) {
    const uint16_t* s = static_cast<const uint16_t*>(src);
    float* d = static_cast<float*>(dst);
    for (int64_t i = 0; i < numel_; ++i) d[i] = bf16_to_f32(s[i]);
  } else if (dtype_ == DType::F32 && dtype == DType::BF16) {
    const float* s = static_cast<const float*>(src);
    uint16_t* d = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < numel_; ++i) d[i] = f32_to_bf16(s[i]);
  } else if (dtype_ == DType::I64 && dtype == DType::I32) {
    const int64_t* s = static_cast<const int64_t*>(src);
    int32_t* d = static_cast<int32_t*>(dst);
    for (int64_t i = 0; i < numel_; ++i) d[i] = int32_t(s[i]);
  } else {
    for (int64_t i = 0; i < numel_; ++i) store_double(dst, dtype, i, load_as_double(src, dtype_, i));
  }
  return t;
}

bool Tensor::requires_grad() const { return meta_ && meta_->requires_grad; }

void Tensor::set_requires_grad(bool value) {
  if (!meta_) meta_ = std::make_shared<AutogradMeta>();
  VLV_CHECK(!value || is_floating(dtype_), ErrorCode::DType, "only floating tensors can require grad, not ", desc());
  meta_->requires_grad = value;
}

Tensor Tensor::grad() const {
  if (!meta_) return Tensor();
  std::lock_guard<std::mutex> lock(meta_->mu);
  return meta_->grad;
}

void Tensor::set_grad(const Tensor& g) {
  if (!meta_) meta_ = std::make_shared<AutogradMeta>();
  std::lock_guard<std::mutex> lock(meta_->mu);
  meta_->grad = g;
}

Tensor Tensor::detach() const {
  Tensor t = *this;
  t.meta_.reset();
  return t;
}

std::string Tensor::desc() const {
  if (!defined()) return "undefined";
  return std::string(dtype_name(dtype_)) + shape_str(shape_);
}

void check_defined(const Tensor& t, const char* op, const char* arg) {
  VLV_CHECK(t.defined(), ErrorCode::Arg, op, ": argument '", arg, "' is required");
}
void check_dtype(const Tensor& t, DType dt, const char* op, const char* arg) {
  check_defined(t, op, arg);
  VLV_CHECK(t.dtype() == dt, ErrorCode::DType, op, ": '", arg, "' must be ", dtype_name(dt), ", got ", t.desc());
}
void check_float(const Tensor& t, const char* op, const char* arg) { check_dtype(t, DType::F32, op, arg); }
void check_dim(const Tensor& t, int64_t dim, const char* op, const char* arg) {
  check_defined(t, op, arg);
  VLV_CHECK(t.dim() == dim, ErrorCode::Shape, op, ": '", arg, "' must have ", dim, " dimensions, got ", t.desc());
}

}  // namespace vlv
