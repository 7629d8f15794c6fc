// The CUDA backend as the layers above see it: its library found and probed once (the CPU
// path never depends on it: every failure becomes a reason string that info() reports), then
// registered as the CUDA Backend (core/backend.h) with its kernel table; and the device
// layer's counters for info, benchmarks and the JS `cuda` object. Everything else about CUDA
// (the library's C interface, the kernel glue) stays inside ops/cuda.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vlv {

struct CudaDeviceInfo {
  std::string name;
  int major = 0, minor = 0;
  uint64_t total_memory = 0;
  int multiprocessors = 0;
};

struct CudaStatus {
  bool available = false;
  std::string reason;   // why not, in words ("" when available)
  std::string library;  // path tried ("" when none was given)
  int driver_version = 0;
  int runtime_version = 0;
  std::vector<CudaDeviceInfo> devices;
};

// Loads `library` (once; later calls return the first result) and, when a device answers,
// registers the CUDA backend. An empty path means the package ships no CUDA library, or
// VLV_DEVICE=cpu asked for none.
const CudaStatus& init_cuda(const std::string& library, const std::string& skip_reason);
const CudaStatus* cuda_status();  // null before init_cuda

// The caching allocator's counters and the device's memory (bytes).
struct CudaMemory {
  uint64_t in_use = 0, reserved = 0, peak_in_use = 0, raw_allocs = 0, cache_hits = 0;
  uint64_t device_free = 0, device_total = 0;
};
// Each throws E_DEVICE when the backend is not loaded.
CudaMemory cuda_memory();
void cuda_empty_cache();  // returns cached blocks to the driver
void cuda_synchronize();  // waits for the work queued on the device
// Device milliseconds per call of fn over `reps` calls (events around the calls).
double cuda_time_ms(const std::function<void()>& fn, int reps);
std::string cuda_gemm_backend();  // "cublas (path)" or "mma.sync"

}  // namespace vlv
