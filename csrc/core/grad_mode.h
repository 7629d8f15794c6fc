// Grad mode, per thread: whether ops on tensors that require grad are recorded for backward.
// Each async call sets it for the worker that runs it. Core holds it so the dispatcher (ops)
// can ask without depending on the tape (autograd).
#pragma once

namespace vlv {

bool grad_enabled();

class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled);
  ~GradModeGuard();
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace vlv
