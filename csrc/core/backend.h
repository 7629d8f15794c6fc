// The backend interface: what a device offers the layers above besides its op kernels —
// memory, copies, stream capture into graphs — and where its kernel table is found. The CPU
// backend is built in; the CUDA backend is registered by ops/cuda when its library loads, so
// nothing outside ops/cuda names CUDA's library or its glue.
#pragma once
#include <cstddef>
#include <memory>

#include "core/tensor.h"

namespace vlv {

struct KernelTable;  // ops/kernel.h: opaque here

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  // nbytes of device memory; E_OOM naming the size when there is none.
  virtual std::shared_ptr<Storage> allocate(size_t nbytes) = 0;
  // Copies nbytes from src to dst where each is on this device or on the CPU (one of them on
  // this device); a copy to the CPU waits for the work queued before it.
  virtual void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) = 0;
  virtual void fill_zero(void* p, size_t nbytes) = 0;
  // Graph capture of the device's stream: between graph_begin and graph_end the work queued
  // is recorded, not run; graph_launch replays it. E_DEVICE where the device has no graphs.
  virtual void graph_begin();
  virtual void* graph_end();
  virtual void graph_abort() noexcept {}
  virtual void graph_launch(void* graph);
  virtual void graph_destroy(void* graph) noexcept {}

  // The device's op kernels, installed by the ops layer (null until then).
  const KernelTable* kernels() const { return kernels_; }
  void set_kernels(const KernelTable* table) { kernels_ = table; }

 private:
  const KernelTable* kernels_ = nullptr;
};

// The backend of a device: E_DEVICE ("the CUDA backend is not loaded (see info())") when none
// is registered.
Backend& backend(Device device);
bool has_backend(Device device);
// How messages name a device's backend: "CPU", "CUDA".
const char* backend_label(Device device);
// Called once by a backend that loaded; the object lives for the rest of the process.
void register_backend(Backend* backend);

}  // namespace vlv
