// The CUDA device layer for JS: tensorTo (a copy between devices; not recorded for
// autograd), cudaMemory / cudaEmptyCache, cudaSynchronize, events for timing, the GEMM
// backend in use, and cudaRandom (randn / rand on the device: ops::randn's device argument). Every function throws E_DEVICE when the backend is not loaded.
#include "core/cuda_backend.h"
#include "napi/common.h"
#include "napi/tensor_wrap.h"
#include "ops/api.h"
#include "ops/cuda_common.h"

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
    return NativeTensor::wrap(env, cudaops::to_device(t, d));
  });
}

Napi::Value cuda_memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    VlvCudaMemory m{};
    cudaops::ck(cudaops::api().memory(&m), "memory");
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
    cudaops::ck(cudaops::api().empty_cache(), "emptyCache");
    return info.Env().Undefined();
  });
}

Napi::Value cuda_synchronize(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    cudaops::ck(cudaops::api().synchronize(), "synchronize");
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
    VLV_CHECK(reps >= 1, ErrorCode::Arg, "cudaTime: reps must be >= 1");
    const VlvCudaApi& a = cudaops::api();
    void *e0 = nullptr, *e1 = nullptr;
    cudaops::ck(a.event_record(&e0), "cudaTime");
    for (int i = 0; i < reps; ++i) info[0].As<Napi::Function>().Call({});
    int rc = a.event_record(&e1);
    float ms = 0;
    if (rc == VLV_CUDA_OK) rc = a.event_elapsed_ms(e0, e1, &ms);
    a.event_destroy(e0);
    a.event_destroy(e1);
    cudaops::ck(rc, "cudaTime");
    return Napi::Number::New(env, double(ms) / reps);
  });
}

Napi::Value cuda_gemm_backend(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    char name[512] = {0};
    cudaops::ck(cudaops::api().gemm_backend(name, sizeof(name)), "gemmBackend");
    return Napi::String::New(info.Env(), name);
  });
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
