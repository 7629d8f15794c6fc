// The exported table of the C ABI (abi.h): vlv_cuda_api() hands the addon every entry point,
// in the order of the list that also declares them (kernels.h).
#include "cuda/kernels.h"

namespace {
const VlvCudaApi kApi = {VLV_CUDA_ABI_VERSION,
#define VLV_CUDA_ENTRY(ret, name, params) vlv::cuda::name,
                         VLV_CUDA_API(VLV_CUDA_ENTRY)
#undef VLV_CUDA_ENTRY
};
}  // namespace

extern "C" __attribute__((visibility("default"))) const VlvCudaApi* vlv_cuda_api(void) { return &kApi; }
