// CUDA graphs of the device stream, as RAII on the addon side (the device layer's capture
// API, abi.h: graph_*), and copies into existing device tensors (a graph's static inputs).
#pragma once
#include "core/tensor.h"

namespace vlv::cudaops {

// One instantiated graph; destroyed (and its memory pool returned) with the object.
class CudaGraph {
 public:
  CudaGraph() = default;
  ~CudaGraph() { reset(); }
  CudaGraph(CudaGraph&& o) noexcept : handle_(o.handle_) { o.handle_ = nullptr; }
  CudaGraph& operator=(CudaGraph&& o) noexcept;
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  // Runs fn with the device stream captured (its kernels recorded, not run) and returns the
  // graph. If fn throws, or CUDA refuses the capture, the capture is dropped and the error
  // rethrown (a host copy or wait inside fn: E_DEVICE "... inside a CUDA graph capture").
  template <class F>
  static CudaGraph capture(F&& fn) {
    begin();
    try {
      fn();
    } catch (...) {
      abort();
      throw;
    }
    return end();
  }

  bool valid() const { return handle_ != nullptr; }
  void launch() const;  // replays on the device stream
  void reset();

 private:
  static void begin();
  static void abort() noexcept;
  static CudaGraph end();
  void* handle_ = nullptr;
};

// dst = src, elementwise, for dst on CUDA and src on the CPU or CUDA (same shape and dtype).
void copy_into(const Tensor& dst, const Tensor& src);

}  // namespace vlv::cudaops
