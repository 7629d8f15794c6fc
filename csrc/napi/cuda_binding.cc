// The CUDA device layer for JS: tensorTo (a copy between devices; not recorded for
// autograd), cudaMemory / cudaEmptyCache, cudaSynchronize, events for timing, the GEMM
// backend in use, and cudaRandom (randn / rand on the device: ops::randn's device argument). Every function throws
// E_DEVICE when the backend is not loaded.
#include "napi/common.h"
#include "napi/tensor_wrap.h"
#include "ops/api.h"
#include "ops/cuda_device.h"

namespace vlv::napi {

namespace {
Device parse_device(const std::string& s) {
  if (s == "cpu") return Device::CPU;
  if (s == "cuda") return Device::CUDA;
  fail(ErrorCode::Arg, "to: unknown device '", s, "' (expected 'cpu' or 'cuda')");
}

Napi::Value tensor_to(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    Tensor t = NativeTensor::unwrap(info[0], "tensor");
    Device d = parse_device(arg_string(info, 1, "device"));
    if (t.device() == d) return NativeTensor::wrap(env, t.detach());
    return NativeTensor::wrap(env, t.to(d));
  });
}

Napi::Value cuda_memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    const CudaMemory m = vlv::cuda_memory();
    Napi::Object o = Napi::Object::New(env);
    o.Set("inUse", double(m.in_use));
    o.Set("reserved", double(m.reserved));
    o.Set("peakInUse", double(m.peak_in_use));
    o.Set("rawAllocs", double(m.raw_allocs));
    o.Set("cacheHits", double(m.cache_hits));
    o.Set("deviceFree", double(m.device_free));
    o.Set("deviceTotal", double(m.device_total));
    return o;
  });
}

Napi::Value cuda_empty_cache(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    vlv::cuda_empty_cache();
    return info.Env().Undefined();
  });
}

Napi::Value cuda_synchronize(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    vlv::cuda_synchronize();
    return info.Env().Undefined();
  });
}

// cudaTime(fn, reps): records an event, calls fn() reps times, records another; returns the
// device milliseconds per call.
Napi::Value cuda_time(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    VLV_CHECK(info.Length() >= 1 && info[0].IsFunction(), ErrorCode::Arg, "cudaTime: expects a function");
    int reps = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 1;
    Napi::Function fn = info[0].As<Napi::Function>();
    return Napi::Number::New(env, vlv::cuda_time_ms([&] { fn.Call({}); }, reps));
  });
}

Napi::Value cuda_gemm_backend(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::String::New(info.Env(), vlv::cuda_gemm_backend()); });
}

// cudaRandom(normal, shape, seed, offset) -> f32 tensor on the device.
Napi::Value cuda_random(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    VLV_CHECK(info.Length() >= 3 && info[1].IsArray(), ErrorCode::Arg, "cudaRandom(normal, shape, seed, offset)");
    Napi::Array arr = info[1].As<Napi::Array>();
    std::vector<int64_t> shape;
    for (uint32_t i = 0; i < arr.Length(); ++i) shape.push_back(arr.Get(i).As<Napi::Number>().Int64Value());
    const uint64_t seed = uint64_t(info[2].As<Napi::Number>().Int64Value());
    const bool has_offset = info.Length() > 3 && info[3].IsNumber();
    const uint64_t offset = has_offset ? uint64_t(info[3].As<Napi::Number>().Int64Value()) : 0;
    const Tensor out = info[0].ToBoolean() ? ops::randn(shape, seed, offset, Device::CUDA)
                                           : ops::rand(shape, seed, offset, Device::CUDA);
    return NativeTensor::wrap(env, out);
  });
}

void exports_fn(Napi::Env env, Napi::Object exports) {
  exports.Set("tensorTo", Napi::Function::New(env, tensor_to, "tensorTo"));
  exports.Set("cudaMemory", Napi::Function::New(env, cuda_memory, "cudaMemory"));
  exports.Set("cudaEmptyCache", Napi::Function::New(env, cuda_empty_cache, "cudaEmptyCache"));
  exports.Set("cudaSynchronize", Napi::Function::New(env, cuda_synchronize, "cudaSynchronize"));
  exports.Set("cudaTime", Napi::Function::New(env, cuda_time, "cudaTime"));
  exports.Set("cudaGemmBackend", Napi::Function::New(env, cuda_gemm_backend, "cudaGemmBackend"));
  exports.Set("cudaRandom", Napi::Function::New(env, cuda_random, "cudaRandom"));
}
}  // namespace

VLV_NAPI_EXPORTS(exports_fn);

}  // namespace vlv::napi
