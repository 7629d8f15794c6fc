#include "core/cuda_backend.h"

#include <dlfcn.h>

#include <mutex>

#include "cuda/abi.h"

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
}  // namespace

const CudaStatus& init_cuda(const std::string& library, const std::string& skip_reason) {
  std::call_once(g_once, [&] {
    g_status = probe(library, skip_reason);
    g_done = true;
  });
  return g_status;
}

const CudaStatus* cuda_status() { return g_done ? &g_status : nullptr; }

const VlvCudaApi* cuda_api() { return g_done ? g_api : nullptr; }

}  // namespace vlv
