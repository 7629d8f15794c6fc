// The exported table of the C ABI (abi.h): vlv_cuda_api() hands the addon every entry point.
#include "cuda/device.h"
#include "cuda/kernels.h"

namespace {
const VlvCudaApi kApi = {
    VLV_CUDA_ABI_VERSION,
    vlv::cuda::last_error,
    vlv::cuda::set_device,
    vlv::cuda::alloc,
    vlv::cuda::free_block,
    vlv::cuda::memory,
    vlv::cuda::empty_cache,
    vlv::cuda::copy,
    vlv::cuda::synchronize,
    vlv::cuda::event_record,
    vlv::cuda::event_elapsed_ms,
    vlv::cuda::event_destroy,
    vlv::cuda::gemm_backend,
    vlv::cuda::fill,
    vlv::cuda::binary,
    vlv::cuda::scale,
    vlv::cuda::cast,
    vlv::cuda::copy_strided,
    vlv::cuda::activation,
    vlv::cuda::activation_backward,
    vlv::cuda::gated,
    vlv::cuda::gated_backward,
    vlv::cuda::softmax,
    vlv::cuda::softmax_backward,
    vlv::cuda::norm,
    vlv::cuda::norm_backward,
    vlv::cuda::group_norm,
    vlv::cuda::group_norm_backward,
    vlv::cuda::reduce_sum,
    vlv::cuda::embedding,
    vlv::cuda::embedding_backward,
    vlv::cuda::rope,
    vlv::cuda::cross_entropy,
    vlv::cuda::cross_entropy_backward,
    vlv::cuda::philox,
    vlv::cuda::adamw,
    vlv::cuda::clip_grad_norm,
    vlv::cuda::gemm,
    vlv::cuda::attention,
    vlv::cuda::attention_backward,
    vlv::cuda::scheduler_step,
    vlv::cuda::im2col,
    vlv::cuda::col2im,
    // ABI 4 (conv)
    vlv::cuda::conv2d_igemm,
    vlv::cuda::conv2d_igemm_dgrad,
    vlv::cuda::group_norm_scale_shift,
};
}  // namespace

extern "C" __attribute__((visibility("default"))) const VlvCudaApi* vlv_cuda_api(void) { return &kApi; }
