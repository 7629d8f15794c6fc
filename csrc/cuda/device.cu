// The device layer: device choice, one stream per device, the caching allocator over
// cudaMalloc, pinned staging for host<->device copies, events, CUDA graph capture of the
// stream, and the error state that the C ABI reports (a CUDA error other than an allocation
// failure or a refused capture marks the device unusable).
#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "cuda/caching_allocator.h"
#include "cuda/device.h"
#include "ops/cuda/kernels/common.cuh"

namespace vlv::cuda {

namespace {
constexpr int kMaxDevices = 8;
constexpr size_t kStagingBytes = size_t(4) << 20;  // two pinned halves of 4 MiB

thread_local std::string t_error;
thread_local int t_device = 0;

struct CudaRawMemory : RawMemory {
  explicit CudaRawMemory(int dev) : dev(dev) {}
  void* raw_alloc(size_t bytes) override {
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // not sticky: clear it
      return nullptr;
    }
    if (e != cudaSuccess) throw CudaFault(e, "cudaMalloc");
    return p;
  }
  void raw_free(void* p) override { cudaFree(p); }
  size_t free_bytes() override {
    size_t f = 0, t = 0;
    cudaMemGetInfo(&f, &t);
    return f;
  }
  int dev;
};

struct DeviceState {
  explicit DeviceState(int id) : raw(id), allocator(raw) {}
  std::once_flag init_once;
  int init_error = VLV_CUDA_OK;
  cudaStream_t stream = nullptr;
  CudaRawMemory raw;
  CachingAllocator allocator;
  void* staging[2] = {nullptr, nullptr};  // pinned host halves
  cudaEvent_t staged[2] = {nullptr, nullptr};
  std::mutex copy_mu;  // one staged copy at a time
  std::mutex fault_mu;
  std::string fault;          // "" while usable
  bool capturing = false;     // a graph capture of `stream` is running
  uint64_t capture_pool = 0;  // the allocator pool of that capture
};

using DeviceTable = std::array<std::unique_ptr<DeviceState>, kMaxDevices>;

// Intentionally never destroyed: tensors may be released during process exit, after static
// destructors have run, and their blocks must still find a live allocator.
DeviceTable& devices() {
  static DeviceTable& table = *new DeviceTable;
  return table;
}
std::once_flag g_devices_once;

DeviceState& state(int dev) {
  std::call_once(g_devices_once, [] {
    for (int i = 0; i < kMaxDevices; ++i) devices()[i] = std::make_unique<DeviceState>(i);
  });
  return *devices()[dev];
}

std::string fault_of(DeviceState& s) {
  std::lock_guard<std::mutex> lock(s.fault_mu);
  return s.fault;
}

// Lazily creates the stream, pinned staging and events of the current device.
int ensure_init(DeviceState& s, int dev) {
  std::call_once(s.init_once, [&] {
    cudaError_t e = cudaSetDevice(dev);
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking);
    for (int i = 0; i < 2 && e == cudaSuccess; ++i) {
      e = cudaHostAlloc(&s.staging[i], kStagingBytes, cudaHostAllocDefault);
      if (e == cudaSuccess) e = cudaEventCreateWithFlags(&s.staged[i], cudaEventDisableTiming);
    }
    s.init_error = check(e, "device init");
  });
  return s.init_error;
}
}  // namespace

CudaFault::CudaFault(cudaError_t e, const char* what)
    : std::runtime_error(std::string(what) + ": CUDA error " + std::to_string(int(e)) + " (" + cudaGetErrorName(e) +
                         ": " + cudaGetErrorString(e) + ")"),
      error(e) {}

int set_error(int code, const std::string& message) {
  t_error = message;
  return code;
}

const char* last_error() { return t_error.c_str(); }

int current_device() { return t_device; }

namespace {
// Errors by which CUDA refuses (or invalidates) a stream capture: the capture is lost, the
// device is not.
bool is_capture_error(cudaError_t e) {
  switch (e) {
    case cudaErrorStreamCaptureUnsupported:
    case cudaErrorStreamCaptureInvalidated:
    case cudaErrorStreamCaptureMerge:
    case cudaErrorStreamCaptureUnmatched:
    case cudaErrorStreamCaptureUnjoined:
    case cudaErrorStreamCaptureIsolation:
    case cudaErrorStreamCaptureImplicit:
    case cudaErrorCapturedEvent:
    case cudaErrorStreamCaptureWrongThread: return true;
    default: return false;
  }
}

int refuse_in_capture(const char* what) {
  return set_error(VLV_CUDA_E_CAPTURE,
                   std::string(what) + " cannot run inside a CUDA graph capture (it needs the host to wait)");
}
}  // namespace

int check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return VLV_CUDA_OK;
  if (is_capture_error(e)) {
    cudaGetLastError();  // not sticky: the capture is lost, the device is fine
    return set_error(VLV_CUDA_E_CAPTURE, CudaFault(e, what).what());
  }
  std::string msg = CudaFault(e, what).what();
  DeviceState& s = state(t_device);
  {
    std::lock_guard<std::mutex> lock(s.fault_mu);
    if (s.fault.empty()) s.fault = msg;
  }
  return set_error(VLV_CUDA_E_DEVICE, "CUDA device " + std::to_string(t_device) + " is unusable: " + msg);
}

int device_ok() {
  DeviceState& s = state(t_device);
  std::string f = fault_of(s);
  if (!f.empty())
    return set_error(VLV_CUDA_E_DEVICE, "CUDA device " + std::to_string(t_device) + " is unusable since: " + f);
  return ensure_init(s, t_device);
}

cudaStream_t stream() { return state(t_device).stream; }

int set_device(int dev) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return set_error(VLV_CUDA_E_DEVICE, std::string("no CUDA device: ") + cudaGetErrorName(e));
  if (dev < 0 || dev >= count || dev >= kMaxDevices)
    return set_error(VLV_CUDA_E_ARG,
                     "CUDA device " + std::to_string(dev) + " does not exist (" + std::to_string(count) + " devices)");
  t_device = dev;
  if (cudaSetDevice(dev) != cudaSuccess) return check(cudaGetLastError(), "cudaSetDevice");
  return device_ok();
}

// VLV_CUDA_POISON=1 fills every allocation with 0xff bytes (NaN in f32, bf16 and f16), so
// an element a kernel forgot to write shows up in the GPU tests.
bool poison() {
  static const bool on = [] {
    const char* v = std::getenv("VLV_CUDA_POISON");
    return v && *v && *v != '0';
  }();
  return on;
}

int alloc(size_t bytes, void** out) {
  *out = nullptr;
  if (int rc = device_ok()) return rc;
  try {
    *out = state(t_device).allocator.allocate(bytes);
    if (poison() && bytes) return check(cudaMemsetAsync(*out, 0xff, bytes, stream()), "poison");
    return VLV_CUDA_OK;
  } catch (const AllocFailure& f) {
    return set_error(VLV_CUDA_E_OOM, f.what());
  } catch (const CudaFault& f) {
    return check(f.error, "cudaMalloc");
  } catch (const std::exception& x) {
    return set_error(VLV_CUDA_E_DEVICE, x.what());
  }
}

void free_block(void* p) {
  // The block returns to its free list even on a faulted device (it is never reused then).
  DeviceTable& table = devices();
  for (int i = 0; i < kMaxDevices; ++i)
    if (table[i]) table[i]->allocator.release(p);
}

int memory(VlvCudaMemory* out) {
  std::memset(out, 0, sizeof(*out));
  if (int rc = device_ok()) return rc;
  AllocatorStats st = state(t_device).allocator.stats();
  out->in_use = st.in_use;
  out->reserved = st.reserved;
  out->peak_in_use = st.peak_in_use;
  out->raw_allocs = st.raw_allocs;
  out->cache_hits = st.cache_hits;
  size_t f = 0, t = 0;
  if (int rc = check(cudaMemGetInfo(&f, &t), "cudaMemGetInfo")) return rc;
  out->device_free = f;
  out->device_total = t;
  return VLV_CUDA_OK;
}

bool capturing() { return state(t_device).capturing; }

int empty_cache() {
  if (int rc = device_ok()) return rc;
  if (capturing()) return refuse_in_capture("empty_cache");
  // Cached blocks may still be read by queued work: drain the stream first.
  if (int rc = check(cudaStreamSynchronize(stream()), "empty_cache: synchronize")) return rc;
  state(t_device).allocator.empty_cache();
  return VLV_CUDA_OK;
}

int synchronize() {
  if (int rc = device_ok()) return rc;
  if (capturing()) return refuse_in_capture("synchronize");
  return check(cudaStreamSynchronize(stream()), "synchronize");
}

// Host<->device copies go through two pinned halves: while the device copies one half the
// host fills (H2D) or drains (D2H) the other. Device-to-device stays on the stream.
int copy(void* dst, const void* src, size_t bytes, int kind) {
  if (int rc = device_ok()) return rc;
  if (bytes == 0) return VLV_CUDA_OK;
  DeviceState& s = state(t_device);
  cudaStream_t st = s.stream;
  if (kind == VLV_CUDA_COPY_D2D)
    return check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, st), "copy device to device");
  if (kind != VLV_CUDA_COPY_H2D && kind != VLV_CUDA_COPY_D2H)
    return set_error(VLV_CUDA_E_ARG, "copy: unknown kind " + std::to_string(kind));
  if (s.capturing) return refuse_in_capture(kind == VLV_CUDA_COPY_H2D ? "a copy to the device" : "a copy to the host");
  std::lock_guard<std::mutex> lock(s.copy_mu);
  const char* in = static_cast<const char*>(src);
  char* out = static_cast<char*>(dst);
  if (kind == VLV_CUDA_COPY_H2D) {
    for (size_t done = 0, k = 0; done < bytes; done += kStagingBytes, ++k) {
      size_t n = std::min(kStagingBytes, bytes - done);
      int half = int(k & 1);
      // The half's previous copy must have left the buffer before the host refills it.
      if (int rc = check(cudaEventSynchronize(s.staged[half]), "copy to device: staging")) return rc;
      std::memcpy(s.staging[half], in + done, n);
      if (int rc = check(cudaMemcpyAsync(out + done, s.staging[half], n, cudaMemcpyHostToDevice, st), "copy to device"))
        return rc;
      if (int rc = check(cudaEventRecord(s.staged[half], st), "copy to device: event")) return rc;
    }
    // The caller may free or reuse its host buffer at once: the data is in staging or copied.
    return VLV_CUDA_OK;
  }
  size_t chunks = (bytes + kStagingBytes - 1) / kStagingBytes;
  auto issue = [&](size_t k) {
    size_t off = k * kStagingBytes, n = std::min(kStagingBytes, bytes - off);
    cudaError_t e = cudaMemcpyAsync(s.staging[k & 1], in + off, n, cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess) e = cudaEventRecord(s.staged[k & 1], st);
    return e;
  };
  if (int rc = check(issue(0), "copy to host")) return rc;
  for (size_t k = 0; k < chunks; ++k) {
    if (k + 1 < chunks)
      if (int rc = check(issue(k + 1), "copy to host")) return rc;
    if (int rc = check(cudaEventSynchronize(s.staged[k & 1]), "copy to host: wait")) return rc;
    size_t off = k * kStagingBytes, n = std::min(kStagingBytes, bytes - off);
    std::memcpy(out + off, s.staging[k & 1], n);
  }
  return VLV_CUDA_OK;
}

int event_record(void** ev) {
  *ev = nullptr;
  if (int rc = device_ok()) return rc;
  if (capturing()) return refuse_in_capture("event_record");
  cudaEvent_t e = nullptr;
  if (int rc = check(cudaEventCreate(&e), "event create")) return rc;
  *ev = e;
  return check(cudaEventRecord(e, stream()), "event record");
}

int event_elapsed_ms(void* a, void* b, float* ms) {
  if (int rc = device_ok()) return rc;
  if (int rc = check(cudaEventSynchronize(static_cast<cudaEvent_t>(b)), "event wait")) return rc;
  return check(cudaEventElapsedTime(ms, static_cast<cudaEvent_t>(a), static_cast<cudaEvent_t>(b)), "event elapsed");
}

void event_destroy(void* ev) {
  if (ev) cudaEventDestroy(static_cast<cudaEvent_t>(ev));
}

namespace {
// The executable graphs alive, with the device and allocator pool of each.
struct GraphInfo {
  int device;
  uint64_t pool;
};
std::mutex g_graphs_mu;
std::map<cudaGraphExec_t, GraphInfo>& graphs() {
  static auto& m = *new std::map<cudaGraphExec_t, GraphInfo>;  // outlives static destructors, like devices()
  return m;
}

// Ends a running capture of s and returns its graph (null when CUDA invalidated it).
cudaGraph_t end_capture(DeviceState& s, cudaError_t* err) {
  cudaGraph_t g = nullptr;
  *err = cudaStreamEndCapture(s.stream, &g);
  s.capturing = false;
  s.allocator.close_pool();
  return g;
}
}  // namespace

int graph_begin() {
  if (int rc = device_ok()) return rc;
  DeviceState& s = state(t_device);
  if (s.capturing) return set_error(VLV_CUDA_E_ARG, "graph_begin: a capture is already running on this device");
  s.capture_pool = s.allocator.open_pool();
  s.capturing = true;
  const cudaError_t e = cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeRelaxed);
  if (e != cudaSuccess) {
    s.capturing = false;
    s.allocator.drop_pool(s.capture_pool);
    return check(e, "graph capture: begin");
  }
  return VLV_CUDA_OK;
}

int graph_abort() {
  DeviceState& s = state(t_device);
  if (!s.capturing) return VLV_CUDA_OK;
  cudaError_t e;
  if (cudaGraph_t g = end_capture(s, &e)) cudaGraphDestroy(g);
  cudaGetLastError();
  s.allocator.drop_pool(s.capture_pool);  // nothing captured ever runs
  return device_ok();
}

int graph_end(void** graph) {
  *graph = nullptr;
  DeviceState& s = state(t_device);
  if (!s.capturing) return set_error(VLV_CUDA_E_ARG, "graph_end: no capture is running on this device");
  cudaError_t e;
  cudaGraph_t g = end_capture(s, &e);
  if (e != cudaSuccess || !g) {
    if (g) cudaGraphDestroy(g);
    s.allocator.drop_pool(s.capture_pool);
    return check(e == cudaSuccess ? cudaErrorStreamCaptureInvalidated : e, "graph capture: end");
  }
  cudaGraphExec_t exec = nullptr;
  e = cudaGraphInstantiate(&exec, g, 0);
  cudaGraphDestroy(g);
  if (e != cudaSuccess) {
    s.allocator.drop_pool(s.capture_pool);
    return check(e, "graph capture: instantiate");
  }
  std::lock_guard<std::mutex> lock(g_graphs_mu);
  graphs()[exec] = {t_device, s.capture_pool};
  *graph = exec;
  return VLV_CUDA_OK;
}

int graph_launch(void* graph) {
  if (int rc = device_ok()) return rc;
  if (capturing()) return refuse_in_capture("graph_launch");
  {
    std::lock_guard<std::mutex> lock(g_graphs_mu);
    auto it = graphs().find(static_cast<cudaGraphExec_t>(graph));
    if (it == graphs().end() || it->second.device != t_device)
      return set_error(VLV_CUDA_E_ARG, "graph_launch: not a live graph of this device");
  }
  return check(cudaGraphLaunch(static_cast<cudaGraphExec_t>(graph), stream()), "graph launch");
}

void graph_destroy(void* graph) {
  GraphInfo info{};
  {
    std::lock_guard<std::mutex> lock(g_graphs_mu);
    auto it = graphs().find(static_cast<cudaGraphExec_t>(graph));
    if (it == graphs().end()) return;
    info = it->second;
    graphs().erase(it);
  }
  // Let queued replays finish first (an executable graph is not to be destroyed while it
  // runs); after that the pool's blocks are free for any later work of the stream.
  DeviceState& s = state(info.device);
  if (!s.capturing) cudaStreamSynchronize(s.stream);
  cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(graph));
  s.allocator.drop_pool(info.pool);
}

Scratch::Scratch(size_t bytes) { status_ = alloc(bytes, &p_); }
Scratch::~Scratch() {
  if (p_) free_block(p_);
}

}  // namespace vlv::cuda
