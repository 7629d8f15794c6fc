#include "napi/tensor_wrap.h"

#include <cstring>

#include "autograd/autograd.h"
#include "napi/common.h"

namespace vlv::napi {

namespace {
struct Ctor {
  Napi::FunctionReference ref;
};

Shape read_shape(Napi::Env env, const Napi::Value& v) {
  if (!v.IsArray()) throw coded_error(env, "E_ARG", "shape must be an array of non-negative integers");
  Napi::Array a = v.As<Napi::Array>();
  Shape s;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value d = a.Get(i);
    if (!d.IsNumber()) throw coded_error(env, "E_ARG", "shape must be an array of non-negative integers");
    double x = d.As<Napi::Number>().DoubleValue();
    if (x < 0 || x != double(int64_t(x)))
      throw coded_error(env, "E_ARG", "shape must be an array of non-negative integers");
    s.push_back(int64_t(x));
  }
  return s;
}

// tensorFromBuffer(dtype, shape, bytes: ArrayBufferView): one copy into a new tensor.
Napi::Value from_buffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    DType dt = dtype_from_name(arg_string(info, 0, "dtype"));
    Shape shape = read_shape(env, info[1]);
    if (info.Length() < 3 || !info[2].IsTypedArray()) throw coded_error(env, "E_ARG", "data must be a TypedArray");
    Napi::TypedArray ta = info[2].As<Napi::TypedArray>();
    Napi::ArrayBuffer ab = ta.ArrayBuffer();
    size_t bytes = ta.ByteLength();
    Tensor t = Tensor::empty(shape, dt);
    VLV_CHECK(bytes == t.nbytes(), ErrorCode::Shape, "tensor data has ", bytes, " bytes but ", t.desc(), " needs ",
              t.nbytes());
    if (bytes) std::memcpy(t.raw(), static_cast<char*>(ab.Data()) + ta.ByteOffset(), bytes);
    return NativeTensor::wrap(env, t);
  });
}
}  // namespace

void NativeTensor::init(Napi::Env env, Napi::Object exports) {
  Napi::Function fn =
      DefineClass(env, "NativeTensor",
                  {
                      InstanceAccessor<&NativeTensor::shape>("shape"),
                      InstanceAccessor<&NativeTensor::dtype>("dtype"),
                      InstanceAccessor<&NativeTensor::device>("device"),
                      InstanceAccessor<&NativeTensor::nbytes>("nbytes"),
                      InstanceAccessor<&NativeTensor::requires_grad, &NativeTensor::set_requires_grad>("requiresGrad"),
                      InstanceAccessor<&NativeTensor::grad>("grad"),
                      InstanceAccessor<&NativeTensor::has_grad_fn>("hasGradFn"),
                      InstanceAccessor<&NativeTensor::is_disposed>("disposed"),
                      InstanceMethod<&NativeTensor::to_buffer>("toBuffer"),
                      InstanceMethod<&NativeTensor::zero_grad>("zeroGrad"),
                      InstanceMethod<&NativeTensor::detach>("detach"),
                      InstanceMethod<&NativeTensor::dispose>("dispose"),
                  });
  auto* ctor = new Ctor{Napi::Persistent(fn)};  // owned by the env, freed at its teardown
  env.SetInstanceData<Ctor>(ctor);
  exports.Set("NativeTensor", fn);
  exports.Set("tensorFromBuffer", Napi::Function::New(env, from_buffer, "tensorFromBuffer"));
}

Napi::Object NativeTensor::wrap(Napi::Env env, const Tensor& t) {
  Napi::Object obj = env.GetInstanceData<Ctor>()->ref.New({});
  NativeTensor::Unwrap(obj)->set(t);
  return obj;
}

bool NativeTensor::is(const Napi::Value& v) {
  if (!v.IsObject()) return false;
  Napi::Env env = v.Env();
  return v.As<Napi::Object>().InstanceOf(env.GetInstanceData<Ctor>()->ref.Value());
}

Tensor NativeTensor::unwrap(const Napi::Value& v, const char* what) {
  Napi::Env env = v.Env();
  if (!is(v)) throw coded_error(env, "E_ARG", std::string(what) + " must be a Tensor");
  return NativeTensor::Unwrap(v.As<Napi::Object>())->live(env);
}

NativeTensor::NativeTensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTensor>(info) {}

NativeTensor::~NativeTensor() {
  if (reported_) Napi::MemoryManagement::AdjustExternalMemory(Env(), -reported_);
}

void NativeTensor::set(const Tensor& t) {
  tensor_ = t;
  int64_t bytes = t.defined() ? int64_t(t.nbytes()) : 0;
  if (bytes != reported_) Napi::MemoryManagement::AdjustExternalMemory(Env(), bytes - reported_);
  reported_ = bytes;
}

const Tensor& NativeTensor::live(Napi::Env env) const {
  if (!tensor_.defined()) throw coded_error(env, "E_DISPOSED", "the tensor was disposed");
  return tensor_;
}

Napi::Value NativeTensor::shape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Tensor& t = live(env);
  Napi::Array a = Napi::Array::New(env, t.shape().size());
  for (size_t i = 0; i < t.shape().size(); ++i) a.Set(uint32_t(i), Napi::Number::New(env, double(t.shape()[i])));
  return a;
}

Napi::Value NativeTensor::dtype(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), dtype_name(live(info.Env()).dtype()));
}

Napi::Value NativeTensor::device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), device_name(live(info.Env()).device()));
}

Napi::Value NativeTensor::nbytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(live(info.Env()).nbytes()));
}

Napi::Value NativeTensor::requires_grad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), live(info.Env()).requires_grad());
}

void NativeTensor::set_requires_grad(const Napi::CallbackInfo& info, const Napi::Value& v) {
  Napi::Env env = info.Env();
  guard(env, [&] {
    live(env);
    VLV_CHECK(!tensor_.meta() || !tensor_.meta()->grad_fn, ErrorCode::Arg,
              "requiresGrad can only be set on a leaf tensor (this one is the output of an op)");
    tensor_.set_requires_grad(v.ToBoolean().Value());
  });
}

Napi::Value NativeTensor::grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Tensor g = live(env).grad();
  if (!g.defined()) return env.Null();
  return wrap(env, g);
}

Napi::Value NativeTensor::has_grad_fn(const Napi::CallbackInfo& info) {
  const Tensor& t = live(info.Env());
  return Napi::Boolean::New(info.Env(), t.meta() && t.meta()->grad_fn);
}

Napi::Value NativeTensor::is_disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor_.defined());
}

Napi::Value NativeTensor::to_buffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    const Tensor& t = live(env);
    VLV_CHECK(t.device() == Device::CPU, ErrorCode::Device, "toBuffer: move the tensor to the CPU first");
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, t.nbytes());
    if (t.nbytes()) std::memcpy(ab.Data(), t.raw(), t.nbytes());
    return ab;
  });
}

Napi::Value NativeTensor::zero_grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Tensor t = live(env);
  if (t.meta()) t.set_grad(Tensor());
  return env.Undefined();
}

Napi::Value NativeTensor::detach(const Napi::CallbackInfo& info) { return wrap(info.Env(), live(info.Env()).detach()); }

Napi::Value NativeTensor::dispose(const Napi::CallbackInfo& info) {
  set(Tensor());
  return info.Env().Undefined();
}

static void exports_fn(Napi::Env env, Napi::Object exports) { NativeTensor::init(env, exports); }
VLV_NAPI_EXPORTS(exports_fn);

}  // namespace vlv::napi
