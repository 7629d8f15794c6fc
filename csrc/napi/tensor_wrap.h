// NativeTensor: the JS handle of a vlv::Tensor. Data crosses the boundary by one copy in
// each direction, so a tensor is immutable from JS and async calls need not copy inputs.
#pragma once
#include <napi.h>

#include "core/tensor.h"

namespace vlv::napi {

class NativeTensor : public Napi::ObjectWrap<NativeTensor> {
 public:
  static void init(Napi::Env env, Napi::Object exports);
  static Napi::Object wrap(Napi::Env env, const Tensor& t);
  // The tensor behind a JS value; E_ARG if it is not a NativeTensor, E_DISPOSED if disposed.
  static Tensor unwrap(const Napi::Value& v, const char* what);
  static bool is(const Napi::Value& v);

  explicit NativeTensor(const Napi::CallbackInfo& info);
  ~NativeTensor() override;
  const Tensor& tensor() const { return tensor_; }

 private:
  Napi::Value shape(const Napi::CallbackInfo& info);
  Napi::Value dtype(const Napi::CallbackInfo& info);
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value nbytes(const Napi::CallbackInfo& info);
  Napi::Value requires_grad(const Napi::CallbackInfo& info);
  void set_requires_grad(const Napi::CallbackInfo& info, const Napi::Value& v);
  Napi::Value grad(const Napi::CallbackInfo& info);
  Napi::Value has_grad_fn(const Napi::CallbackInfo& info);
  Napi::Value is_disposed(const Napi::CallbackInfo& info);
  Napi::Value to_buffer(const Napi::CallbackInfo& info);
  Napi::Value zero_grad(const Napi::CallbackInfo& info);
  Napi::Value detach(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  void set(const Tensor& t);
  const Tensor& live(Napi::Env env) const;

  Tensor tensor_;
  int64_t reported_ = 0;  // bytes reported to V8 as external memory
};

}  // namespace vlv::napi
