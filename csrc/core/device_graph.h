// A graph of a device's stream (Backend::graph_*), as RAII: captured from a function, replayed,
// destroyed (its memory returned) with the object.
#pragma once
#include "core/backend.h"

namespace vlv {

class DeviceGraph {
 public:
  DeviceGraph() = default;
  ~DeviceGraph() { reset(); }
  DeviceGraph(DeviceGraph&& o) noexcept : backend_(o.backend_), handle_(o.handle_) { o.handle_ = nullptr; }
  DeviceGraph& operator=(DeviceGraph&& o) noexcept;
  DeviceGraph(const DeviceGraph&) = delete;
  DeviceGraph& operator=(const DeviceGraph&) = delete;

  // Runs fn with the device's stream captured (its kernels recorded, not run) and returns the
  // graph. If fn throws, or the device refuses the capture, the capture is dropped and the
  // error rethrown (a host copy or wait inside fn: E_DEVICE "... inside a CUDA graph capture").
  template <class F>
  static DeviceGraph capture(Device device, F&& fn) {
    Backend& b = backend(device);
    b.graph_begin();
    try {
      fn();
    } catch (...) {
      b.graph_abort();
      throw;
    }
    DeviceGraph g;
    g.backend_ = &b;
    g.handle_ = b.graph_end();
    return g;
  }

  bool valid() const { return handle_ != nullptr; }
  void launch() const;  // replays on the device's stream
  void reset();

 private:
  Backend* backend_ = nullptr;
  void* handle_ = nullptr;
};

}  // namespace vlv
