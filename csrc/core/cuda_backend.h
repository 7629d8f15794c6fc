// Finds and probes the CUDA backend library once. The CPU path never depends on it:
// every failure becomes a reason string that info() reports.
#pragma once
#include <string>
#include <vector>

struct VlvCudaApi;  // cuda/abi.h

namespace vlv {

struct CudaDeviceInfo {
  std::string name;
  int major = 0, minor = 0;
  uint64_t total_memory = 0;
  int multiprocessors = 0;
};

struct CudaStatus {
  bool available = false;
  std::string reason;        // why not, in words ("" when available)
  std::string library;       // path tried ("" when none was given)
  int driver_version = 0;
  int runtime_version = 0;
  std::vector<CudaDeviceInfo> devices;
};

// Loads `library` (once; later calls return the first result). An empty path means the
// package ships no CUDA library, or VLV_DEVICE=cpu asked for none.
const CudaStatus& init_cuda(const std::string& library, const std::string& skip_reason);
const CudaStatus* cuda_status();  // null before init_cuda

// The library's entry table (cuda/abi.h) once the probe succeeded, else null.
const ::VlvCudaApi* cuda_api();

}  // namespace vlv
