#include "ops/cuda_device.h"

#include <dlfcn.h>

#include <mutex>

#include "core/backend.h"
#include "ops/cuda/common.h"

namespace vlv {

namespace {
std::once_flag g_once;
CudaStatus g_status;
bool g_done = false;
const VlvCudaApi* g_api = nullptr;

std::string version_str(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

CudaStatus probe(const std::string& library, const std::string& skip_reason) {
  CudaStatus s;
  s.library = library;
  if (!skip_reason.empty()) {
    s.reason = skip_reason;
    return s;
  }
  if (library.empty()) {
    s.reason = "library missing: this build has no CUDA backend library";
    return s;
  }
  void* h = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* err = dlerror();
    s.reason = std::string("library missing or unloadable: ") + (err ? err : library);
    return s;
  }
  auto fn = reinterpret_cast<vlv_cuda_probe_fn>(dlsym(h, "vlv_cuda_probe"));
  if (!fn) {
    s.reason = "probe failed: " + library + " has no vlv_cuda_probe";
    return s;
  }
  VlvCudaProbe p{};
  int rc = fn(&p);
  s.driver_version = p.driver_version;
  s.runtime_version = p.runtime_version;
  for (int i = 0; i < p.device_count && i < 8; ++i) {
    const VlvCudaDevice& d = p.devices[i];
    s.devices.push_back({d.name, d.major, d.minor, d.total_memory, d.multiprocessors});
  }
  if (p.abi_version != VLV_CUDA_ABI_VERSION) {
    s.reason = "probe failed: the CUDA library speaks ABI " + std::to_string(p.abi_version) + ", the addon " +
               std::to_string(VLV_CUDA_ABI_VERSION);
  } else if (rc == 0) {
    auto api_fn = reinterpret_cast<vlv_cuda_api_fn>(dlsym(h, "vlv_cuda_api"));
    const VlvCudaApi* api = api_fn ? api_fn() : nullptr;
    if (api && api->abi_version == VLV_CUDA_ABI_VERSION) {
      g_api = api;
      s.available = true;
    } else {
      s.reason = "probe failed: " + library + " has no usable vlv_cuda_api";
    }
  } else if (p.error == 35 /* cudaErrorInsufficientDriver */) {
    s.reason = p.driver_version == 0
                   ? "no driver: no NVIDIA driver answered (CUDA error 35, cudaErrorInsufficientDriver)"
                   : "driver too old: driver supports CUDA " + version_str(p.driver_version) + ", the runtime needs " +
                         version_str(p.runtime_version) + " (CUDA error 35)";
  } else if (p.error == 100 /* cudaErrorNoDevice */ || (p.error == 0 && p.device_count == 0)) {
    s.reason = "no device: the driver reports no CUDA device";
  } else {
    s.reason = "probe failed: CUDA error " + std::to_string(p.error) + " (" + p.error_name + ")";
  }
  // The library stays loaded: unloading a CUDA runtime mid-process is not safe.
  return s;
}

// The Backend over the library's device layer: its caching allocator, its copies (pinned
// staging to and from the host) and its stream capture.
class CudaBackend final : public Backend {
 public:
  Device device() const override { return Device::CUDA; }
  std::shared_ptr<Storage> allocate(size_t nbytes) override {
    const VlvCudaApi& a = cudaops::api();
    void* p = nullptr;
    cudaops::ck(a.alloc(nbytes, &p), "cuda alloc");
    auto free_fn = a.free_block;
    return std::make_shared<Storage>(p, nbytes, Device::CUDA, [free_fn](void* q) { free_fn(q); });
  }
  void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) override {
    const int kind = src_device == Device::CPU   ? VLV_CUDA_COPY_H2D
                     : dst_device == Device::CPU ? VLV_CUDA_COPY_D2H
                                                 : VLV_CUDA_COPY_D2D;
    cudaops::ck(cudaops::api().copy(dst, src, nbytes, kind), "cuda copy");
  }
  void fill_zero(void* p, size_t nbytes) override {
    // fill writes f32 words; zero bits are zero in every dtype. A tail of under 4 bytes (a
    // small u8/bool tensor) comes from the host.
    const size_t words = nbytes / 4, tail = nbytes - words * 4;
    if (words) cudaops::ck(cudaops::api().fill(VLV_CUDA_F32, int64_t(words), 0.f, p), "zeros");
    if (tail) {
      const char zero[4] = {0, 0, 0, 0};
      cudaops::ck(cudaops::api().copy(static_cast<char*>(p) + words * 4, zero, tail, VLV_CUDA_COPY_H2D), "zeros");
    }
  }
  void graph_begin() override { cudaops::ck(cudaops::api().graph_begin(), "CUDA graph capture"); }
  void* graph_end() override {
    void* g = nullptr;
    cudaops::ck(cudaops::api().graph_end(&g), "CUDA graph capture");
    return g;
  }
  void graph_abort() noexcept override { cudaops::api().graph_abort(); }
  void graph_launch(void* graph) override { cudaops::ck(cudaops::api().graph_launch(graph), "CUDA graph launch"); }
  void graph_destroy(void* graph) noexcept override { cudaops::api().graph_destroy(graph); }
};
}  // namespace

const CudaStatus& init_cuda(const std::string& library, const std::string& skip_reason) {
  std::call_once(g_once, [&] {
    g_status = probe(library, skip_reason);
    g_done = true;
    if (g_api) {
      static CudaBackend cuda;
      cuda.set_kernels(&cudaops::kernels());
      register_backend(&cuda);
    }
  });
  return g_status;
}

const CudaStatus* cuda_status() { return g_done ? &g_status : nullptr; }

CudaMemory cuda_memory() {
  VlvCudaMemory m{};
  cudaops::ck(cudaops::api().memory(&m), "memory");
  return {m.in_use, m.reserved, m.peak_in_use, m.raw_allocs, m.cache_hits, m.device_free, m.device_total};
}

void cuda_empty_cache() { cudaops::ck(cudaops::api().empty_cache(), "emptyCache"); }

void cuda_synchronize() { cudaops::ck(cudaops::api().synchronize(), "synchronize"); }

double cuda_time_ms(const std::function<void()>& fn, int reps) {
  VLV_CHECK(reps >= 1, ErrorCode::Arg, "cudaTime: reps must be >= 1");
  const VlvCudaApi& a = cudaops::api();
  void *e0 = nullptr, *e1 = nullptr;
  cudaops::ck(a.event_record(&e0), "cudaTime");
  try {
    for (int i = 0; i < reps; ++i) fn();
  } catch (...) {
    a.event_destroy(e0);
    throw;
  }
  int rc = a.event_record(&e1);
  float ms = 0;
  if (rc == VLV_CUDA_OK) rc = a.event_elapsed_ms(e0, e1, &ms);
  a.event_destroy(e0);
  if (e1) a.event_destroy(e1);
  cudaops::ck(rc, "cudaTime");
  return double(ms) / reps;
}

std::string cuda_gemm_backend() {
  char name[512] = {0};
  cudaops::ck(cudaops::api().gemm_backend(name, sizeof(name)), "gemmBackend");
  return name;
}

namespace cudaops {
const VlvCudaApi* loaded_api() { return g_done ? g_api : nullptr; }
}  // namespace cudaops

}  // namespace vlv
