// The device layer's entry points behind the C ABI (device.cu).
#pragma once
#include <cuda_runtime.h>

#include <stdexcept>

#include "cuda/abi.h"

namespace vlv::cuda {

// A CUDA error raised inside the device layer (e.g. by RawMemory); becomes E_DEVICE.
struct CudaFault : std::runtime_error {
  CudaFault(cudaError_t e, const char* what);
  cudaError_t error;
};

const char* last_error();
int set_device(int dev);
int alloc(size_t bytes, void** out);
void free_block(void* p);
int memory(VlvCudaMemory* out);
int empty_cache();
int synchronize();
int copy(void* dst, const void* src, size_t bytes, int kind);
int event_record(void** ev);
int event_elapsed_ms(void* a, void* b, float* ms);
void event_destroy(void* ev);
int graph_begin();
int graph_end(void** graph);
int graph_abort();
int graph_launch(void* graph);
void graph_destroy(void* graph);

}  // namespace vlv::cuda
