#include "napi/common.h"

#include <vector>

namespace vlv::napi {

Napi::Error coded_error(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

namespace {
std::vector<ExportFn>& registry() {
  static std::vector<ExportFn> fns;
  return fns;
}
}  // namespace

ExportRegistrar::ExportRegistrar(ExportFn fn) { registry().push_back(fn); }

void run_exports(Napi::Env env, Napi::Object exports) {
  for (ExportFn fn : registry()) fn(env, exports);
}

PromiseWorker::PromiseWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}

void PromiseWorker::Execute() {
  try {
    Run();
  } catch (const Error& e) {
    code_ = error_code_name(e.code());
    SetError(e.what());
  } catch (const std::bad_alloc&) {
    code_ = "E_OOM";
    SetError("out of memory");
  } catch (const std::exception& e) {
    code_ = "E_INTERNAL";
    SetError(e.what());
  }
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  try {
    deferred_.Resolve(guard(env, [&] { return Result(env); }));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
}

void PromiseWorker::OnError(const Napi::Error& e) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  deferred_.Reject(coded_error(env, code_.empty() ? "E_INTERNAL" : code_, e.Message()).Value());
}

std::string arg_string(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString())
    throw coded_error(info.Env(), "E_ARG", std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

Napi::Object arg_object(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsObject())
    throw coded_error(info.Env(), "E_ARG", std::string(what) + " must be an object");
  return info[i].As<Napi::Object>();
}

}  // namespace vlv::napi
