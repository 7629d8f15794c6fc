// info() and initCuda(): what this build is and which backend runs.
#include "core/ceiling.h"
#include "core/cpu_features.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "napi/common.h"
#include "ops/cuda_device.h"

#include <algorithm>

#ifndef VLV_VERSION
#define VLV_VERSION "0.0.0"
#endif
#ifndef VLV_BUILD_SYSTEM
#define VLV_BUILD_SYSTEM "unknown"
#endif

namespace vlv::napi {

namespace {

Napi::Object cuda_object(Napi::Env env, const CudaStatus* s) {
  Napi::Object o = Napi::Object::New(env);
  if (!s) {
    o.Set("available", false);
    o.Set("reason", "not probed yet");
    return o;
  }
  o.Set("available", s->available);
  o.Set("reason", s->reason);
  o.Set("library", s->library);
  o.Set("driverVersion", s->driver_version);
  o.Set("runtimeVersion", s->runtime_version);
  Napi::Array devs = Napi::Array::New(env, s->devices.size());
  for (size_t i = 0; i < s->devices.size(); ++i) {
    const CudaDeviceInfo& d = s->devices[i];
    Napi::Object dev = Napi::Object::New(env);
    dev.Set("name", d.name);
    dev.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
    dev.Set("totalMemory", double(d.total_memory));
    dev.Set("multiprocessors", d.multiprocessors);
    devs.Set(uint32_t(i), dev);
  }
  o.Set("devices", devs);
  return o;
}

Napi::Value info(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("version", VLV_VERSION);
  o.Set("buildSystem", VLV_BUILD_SYSTEM);
  o.Set("simd", simd_level_name(simd_level()));
  o.Set("avx512bf16", has_avx512_bf16());
  o.Set("threads", num_threads());
  o.Set("cpuBytesInUse", double(Storage::cpu_bytes_in_use()));
  o.Set("cuda", cuda_object(env, cuda_status()));
  return o;
}

// initCuda(libraryPath | "", skipReason | "") -> the CUDA status (probed once).
Napi::Value init_cuda_js(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  std::string lib = cb.Length() > 0 && cb[0].IsString() ? cb[0].As<Napi::String>().Utf8Value() : "";
  std::string skip = cb.Length() > 1 && cb[1].IsString() ? cb[1].As<Napi::String>().Utf8Value() : "";
  const CudaStatus& s = init_cuda(lib, skip);
  return cuda_object(env, &s);
}

class CeilingWorker : public PromiseWorker {
 public:
  CeilingWorker(Napi::Env env, double seconds) : PromiseWorker(env), seconds_(seconds) {}

 protected:
  void Run() override { c_ = measure_ceilings(seconds_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("fmaGflops", c_.fma_gflops);
    o.Set("fmaGflops1t", c_.fma_gflops_1t);
    o.Set("copyGBps", c_.copy_gbps);
    return o;
  }

 private:
  double seconds_;
  Ceilings c_{};
};

// measureCeilings(secondsEach) -> Promise<{fmaGflops, fmaGflops1t, copyGBps}>
Napi::Value measure_ceilings_js(const Napi::CallbackInfo& cb) {
  double s = cb.Length() > 0 && cb[0].IsNumber() ? cb[0].As<Napi::Number>().DoubleValue() : 0.2;
  auto* w = new CeilingWorker(cb.Env(), std::clamp(s, 0.01, 5.0));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

void exports_fn(Napi::Env env, Napi::Object exports) {
  exports.Set("measureCeilings", Napi::Function::New(env, measure_ceilings_js, "measureCeilings"));
  exports.Set("info", Napi::Function::New(env, info, "info"));
  exports.Set("initCuda", Napi::Function::New(env, init_cuda_js, "initCuda"));
}

}  // namespace

VLV_NAPI_EXPORTS(exports_fn);

}  // namespace vlv::napi
