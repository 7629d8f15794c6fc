// The context of one long call running on a worker thread: cancellation (checked before
// every op, so an abort lands within one op, one layer, one step) and progress reporting.
// Both are per thread: the async worker installs them for the call it runs.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vlv {

class CancelToken {
 public:
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

// (stage, done, total, payload): e.g. ("denoise", 3, 20, {}) or ("token", 5, 32, the token
// each row chose at step 5). The payload is empty unless the stage defines one.
using ProgressFn =
    std::function<void(const std::string& stage, int64_t done, int64_t total, const std::vector<int64_t>& payload)>;

// Installs a token and a progress sink on this thread for the scope's lifetime.
class CallScope {
 public:
  CallScope(std::shared_ptr<CancelToken> token, ProgressFn progress);
  ~CallScope();
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  std::shared_ptr<CancelToken> prev_token_;
  ProgressFn prev_progress_;
};

// Throws E_ABORTED when the current call was cancelled.
void throw_if_cancelled();
// Reports progress of the current call (nothing when no sink is installed).
void report_progress(const std::string& stage, int64_t done, int64_t total, const std::vector<int64_t>& payload = {});

}  // namespace vlv
