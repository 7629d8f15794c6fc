// VLV_HD: a function for both sides, device code under nvcc and plain inline host code
// elsewhere (the host tests compile the kernels' shared maps with the C++ compiler).
#pragma once

#if !defined(VLV_HD)
#if defined(__CUDACC__)
#define VLV_HD __host__ __device__ __forceinline__
#else
#define VLV_HD inline
#endif
#endif
