// JS faces of a call's context: cancel tokens (an AbortSignal's 'abort' calls cancel()) and
// progress callbacks called on the JS thread from a worker (a thread-safe function) as
// (stage, done, total) or, when the stage carries a payload, (stage, done, total, number[]).
#pragma once
#include <napi.h>

#include <memory>
#include <optional>

#include "core/call_context.h"

namespace vlv::napi {

// The token behind a value made by createCancelToken(); null for undefined/null.
std::shared_ptr<CancelToken> unwrap_cancel_token(const Napi::Value& v);

// Owns a thread-safe function for a JS progress callback (or nothing for undefined);
// sink() is the ProgressFn to install in a CallScope. Released when destroyed.
class ProgressBridge {
 public:
  ProgressBridge(Napi::Env env, const Napi::Value& callback);
  ~ProgressBridge();
  ProgressBridge(const ProgressBridge&) = delete;
  ProgressBridge& operator=(const ProgressBridge&) = delete;
  ProgressFn sink();

 private:
  std::optional<Napi::ThreadSafeFunction> tsfn_;
};

}  // namespace vlv::napi
