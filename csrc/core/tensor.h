// Tensor: a contiguous, row-major view (shape + element offset) of refcounted storage.
// Views (reshape, leading-dim slice) share storage; every other op writes a new tensor.
// Autograd state hangs off a shared AutogradMeta so copies of a Tensor handle agree on it.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"

namespace vlv {

using Shape = std::vector<int64_t>;

enum class Device : uint8_t { CPU, CUDA };
const char* device_name(Device d);

std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);

// Bytes owned by one allocation. `release` frees them (aligned free, munmap, cudaFree...).
class Storage {
 public:
  Storage(void* data, size_t nbytes, Device device, std::function<void(void*)> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

  // CPU: 64-byte aligned, throws E_OOM with the size on failure.
  static std::shared_ptr<Storage> allocate(size_t nbytes, Device device = Device::CPU);
  // Bytes currently held by live CPU storages allocated by vlv.
  static size_t cpu_bytes_in_use();

 private:
  void* data_;
  size_t nbytes_;
  Device device_;
  std::function<void(void*)> release_;
};

struct AutogradMeta;

class Tensor {
 public:
  Tensor() = default;  // undefined: stands for a missing optional input or gradient

  static Tensor empty(const Shape& shape, DType dtype, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype, Device device = Device::CPU);
  static Tensor full(const Shape& shape, float value, DType dtype = DType::F32);
  static Tensor from_storage(std::shared_ptr<Storage> storage, size_t byte_offset, const Shape& shape, DType dtype);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t dim() const { return int64_t(shape_.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return numel_; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::CPU; }
  size_t nbytes() const { return size_t(numel_) * dtype_size(dtype_); }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  size_t byte_offset() const { return byte_offset_; }

  void* raw() const { return static_cast<char*>(storage_->data()) + byte_offset_; }
  // Typed pointer; checks the dtype matches T (float: f32, double: f64, int32_t, int64_t,
  // uint8_t: u8 or bool, uint16_t: bf16 or f16).
  template <class T>
  T* data() const;

  Tensor reshape(const Shape& shape) const;         // a view; one -1 is inferred
  Tensor slice0(int64_t begin, int64_t end) const;  // a view of rows [begin, end) of dim 0
  Tensor clone() const;
  Tensor to(DType dtype) const;    // a copy converted to dtype (a plain copy if equal)
  Tensor to(Device device) const;  // a copy on `device` (this tensor if it is there already)
  // Overwrites this tensor's elements with src's (same shape and dtype, any devices): a graph's
  // static inputs are refilled this way.
  void copy_from(const Tensor& src) const;
  Tensor contiguous_f32() const { return dtype_ == DType::F32 ? *this : to(DType::F32); }

  // Autograd. A tensor with grad_fn is the output of a recorded op.
  bool requires_grad() const;
  void set_requires_grad(bool value);
  Tensor grad() const;
  void set_grad(const Tensor& g);
  const std::shared_ptr<AutogradMeta>& meta() const { return meta_; }
  std::shared_ptr<AutogradMeta>& mutable_meta() { return meta_; }
  Tensor detach() const;  // same storage, no autograd state

  // A short description for error messages: "f32[2,3]".
  std::string desc() const;

 private:
  std::shared_ptr<Storage> storage_;
  size_t byte_offset_ = 0;
  Shape shape_;
  int64_t numel_ = 0;
  DType dtype_ = DType::F32;
  std::shared_ptr<AutogradMeta> meta_;
};

using Tensors = std::vector<Tensor>;

// Checks a tensor's rank/dtype with a message naming the op and argument.
void check_defined(const Tensor& t, const char* op, const char* arg);
void check_dtype(const Tensor& t, DType dt, const char* op, const char* arg);
void check_float(const Tensor& t, const char* op, const char* arg);  // f32 only on CPU kernels
void check_dim(const Tensor& t, int64_t dim, const char* op, const char* arg);

}  // namespace vlv
