#include "core/backend.h"

#include <cstring>

#include "core/device_graph.h"

namespace vlv {

namespace {

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::CPU; }
  std::shared_ptr<Storage> allocate(size_t nbytes) override { return Storage::allocate(nbytes, Device::CPU); }
  void copy(void* dst, Device, const void* src, Device, size_t nbytes) override { std::memcpy(dst, src, nbytes); }
  void fill_zero(void* p, size_t nbytes) override { std::memset(p, 0, nbytes); }
};

Backend* g_backends[2] = {nullptr, nullptr};

}  // namespace

void Backend::graph_begin() { fail(ErrorCode::Device, device_name(device()), ": no graph capture on this device"); }
void* Backend::graph_end() { fail(ErrorCode::Device, device_name(device()), ": no graph capture on this device"); }
void Backend::graph_launch(void*) {
  fail(ErrorCode::Device, device_name(device()), ": no graph capture on this device");
}

Backend& backend(Device device) {
  if (device == Device::CPU) {
    static CpuBackend cpu;
    return cpu;
  }
  Backend* b = g_backends[int(device)];
  VLV_CHECK(b, ErrorCode::Device, "the ", backend_label(device), " backend is not loaded (see info())");
  return *b;
}

const char* backend_label(Device device) { return device == Device::CUDA ? "CUDA" : "CPU"; }

bool has_backend(Device device) { return device == Device::CPU || g_backends[int(device)] != nullptr; }

void register_backend(Backend* b) { g_backends[int(b->device())] = b; }

DeviceGraph& DeviceGraph::operator=(DeviceGraph&& o) noexcept {
  if (this != &o) {
    reset();
    backend_ = o.backend_;
    handle_ = o.handle_;
    o.handle_ = nullptr;
  }
  return *this;
}

void DeviceGraph::launch() const {
  VLV_CHECK(handle_, ErrorCode::Internal, "graph: launch of an empty graph");
  backend_->graph_launch(handle_);
}

void DeviceGraph::reset() {
  if (handle_) backend_->graph_destroy(handle_);
  handle_ = nullptr;
}

}  // namespace vlv
