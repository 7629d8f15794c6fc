// Shared pieces of the binding: coded JS errors, the registry of exported functions,
// and the base class of every async call (runs off the JS thread, settles a Promise).
#pragma once
#include <napi.h>

#include <functional>
#include <string>

#include "core/error.h"

namespace vlv::napi {

// A JS Error with .code set ("E_SHAPE", ...); the TS layer turns it into a VlvError.
Napi::Error coded_error(Napi::Env env, const std::string& code, const std::string& message);

// Runs fn, turning any C++ exception into a thrown JS error with a code.
template <class F>
auto guard(Napi::Env env, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error& e) {
    throw coded_error(env, error_code_name(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    throw coded_error(env, "E_OOM", "out of memory");
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw coded_error(env, "E_INTERNAL", e.what());
  }
}

// Static registration: each binding file adds its exports with VLV_NAPI_EXPORTS.
using ExportFn = void (*)(Napi::Env env, Napi::Object exports);
struct ExportRegistrar {
  explicit ExportRegistrar(ExportFn fn);
};
void run_exports(Napi::Env env, Napi::Object exports);

#define VLV_NAPI_EXPORTS(fn) static ::vlv::napi::ExportRegistrar vlv_exports_##fn(&fn)

// Async call: Execute() runs on a libuv worker; errors keep their code.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env);
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  virtual void Run() = 0;                         // worker thread; may throw
  virtual Napi::Value Result(Napi::Env env) = 0;  // JS thread

 private:
  void Execute() final;
  void OnOK() final;
  void OnError(const Napi::Error& e) final;
  Napi::Promise::Deferred deferred_;
  std::string code_;
};

// Reads required arguments with E_ARG on a wrong type.
std::string arg_string(const Napi::CallbackInfo& info, size_t i, const char* what);
Napi::Object arg_object(const Napi::CallbackInfo& info, size_t i, const char* what);

}  // namespace vlv::napi
