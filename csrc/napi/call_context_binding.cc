#include "napi/call_context_binding.h"

#include "napi/common.h"

namespace vlv::napi {

namespace {

class NativeCancelToken : public Napi::ObjectWrap<NativeCancelToken> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeCancelToken",
                       {InstanceMethod<&NativeCancelToken::cancel>("cancel"),
                        InstanceAccessor<&NativeCancelToken::cancelled>("cancelled")});
  }
  explicit NativeCancelToken(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<NativeCancelToken>(info), token_(std::make_shared<CancelToken>()) {}
  const std::shared_ptr<CancelToken>& token() const { return token_; }

 private:
  Napi::Value cancel(const Napi::CallbackInfo& info) {
    token_->cancel();
    return info.Env().Undefined();
  }
  Napi::Value cancelled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), token_->cancelled()); }

  std::shared_ptr<CancelToken> token_;
};

Napi::FunctionReference* g_token_ctor = nullptr;  // one env per process

struct ProgressEvent {
  std::string stage;
  int64_t done, total;
  std::vector<int64_t> payload;
};

void exports_fn(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = NativeCancelToken::define(env);
  g_token_ctor = new Napi::FunctionReference(Napi::Persistent(ctor));
  exports.Set("createCancelToken",
              Napi::Function::New(
                  env, [](const Napi::CallbackInfo& info) -> Napi::Value { return g_token_ctor->New({}); },
                  "createCancelToken"));
}

}  // namespace

VLV_NAPI_EXPORTS(exports_fn);

std::shared_ptr<CancelToken> unwrap_cancel_token(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return nullptr;
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(g_token_ctor->Value()))
    throw coded_error(v.Env(), "E_ARG", "the cancel token must come from createCancelToken()");
  return NativeCancelToken::Unwrap(v.As<Napi::Object>())->token();
}

ProgressBridge::ProgressBridge(Napi::Env env, const Napi::Value& callback) {
  if (callback.IsUndefined() || callback.IsNull()) return;
  if (!callback.IsFunction()) throw coded_error(env, "E_ARG", "onProgress must be a function");
  tsfn_ = Napi::ThreadSafeFunction::New(env, callback.As<Napi::Function>(), "vlv-progress", 0, 1);
  tsfn_->Unref(env);  // progress alone never keeps the process alive
}

ProgressBridge::~ProgressBridge() {
  if (tsfn_) tsfn_->Release();
}

ProgressFn ProgressBridge::sink() {
  if (!tsfn_) return nullptr;
  Napi::ThreadSafeFunction tsfn = *tsfn_;
  return [tsfn](const std::string& stage, int64_t done, int64_t total, const std::vector<int64_t>& payload) mutable {
    auto* ev = new ProgressEvent{stage, done, total, payload};  // owned by the JS-thread callback below
    napi_status st = tsfn.NonBlockingCall(ev, [](Napi::Env env, Napi::Function fn, ProgressEvent* e) {
      std::unique_ptr<ProgressEvent> owned(e);
      if (!env || !fn) return;
      std::vector<napi_value> args{Napi::String::New(env, e->stage), Napi::Number::New(env, double(e->done)),
                                   Napi::Number::New(env, double(e->total))};
      if (!e->payload.empty()) {  // a fourth argument only when the stage carries one
        Napi::Array a = Napi::Array::New(env, e->payload.size());
        for (size_t i = 0; i < e->payload.size(); ++i)
          a.Set(uint32_t(i), Napi::Number::New(env, double(e->payload[i])));
        args.push_back(a);
      }
      fn.Call(args);
    });
    if (st != napi_ok) delete ev;
  };
}

}  // namespace vlv::napi
