// The C interface between the addon and the CUDA backend library (libvlv_cuda.so).
// The addon dlopens the library and calls these by name; nothing else crosses.
#pragma once
#include <stdint.h>

#define VLV_CUDA_ABI_VERSION 1

extern "C" {

struct VlvCudaDevice {
  char name[128];
  int major, minor;              // compute capability
  uint64_t total_memory;         // bytes
  int multiprocessors;
};

struct VlvCudaProbe {
  int abi_version;               // VLV_CUDA_ABI_VERSION of the library
  int error;                     // the cudaError_t of the first failing call, 0 if none
  char error_name[64];           // cudaGetErrorName of that error
  int driver_version;            // cudaDriverGetVersion (0: no driver)
  int runtime_version;           // cudaRuntimeGetVersion of the static runtime linked in
  int device_count;
  VlvCudaDevice devices[8];
};

// Fills *out; returns 0 when at least one device is usable.
typedef int (*vlv_cuda_probe_fn)(struct VlvCudaProbe* out);
}
