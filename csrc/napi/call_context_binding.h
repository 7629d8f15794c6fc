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

// The end marker a bridged call queues behind its last progress event: stage "" with done
// and total -1 (lib/call-options.ts waits for it before settling the call).
inline constexpr const char* kProgressEndStage = "";

// A worker's Run() scope: installs the call's cancel token and progress sink on this thread
// and, on leaving (normally or by an exception), queues the end marker. The worker's
// completion and the progress events reach the JS thread through different libuv handles, in
// no fixed order: without the marker, the last events could arrive after the promise settled.
class BridgedCall {
 public:
  BridgedCall(std::shared_ptr<CancelToken> token, ProgressBridge& progress)
      : sink_(progress.sink()), scope_(std::move(token), sink_) {}
  ~BridgedCall() {
    if (sink_) sink_(kProgressEndStage, -1, -1, {});
  }
  BridgedCall(const BridgedCall&) = delete;
  BridgedCall& operator=(const BridgedCall&) = delete;

 private:
  ProgressFn sink_;
  CallScope scope_;
};

}  // namespace vlv::napi
