#include "ops/cuda_graph.h"

#include "ops/cuda_common.h"

namespace vlv::cudaops {

CudaGraph& CudaGraph::operator=(CudaGraph&& o) noexcept {
  if (this != &o) {
    reset();
    handle_ = o.handle_;
    o.handle_ = nullptr;
  }
  return *this;
}

void CudaGraph::begin() { ck(api().graph_begin(), "CUDA graph capture"); }

void CudaGraph::abort() noexcept { api().graph_abort(); }

CudaGraph CudaGraph::end() {
  CudaGraph g;
  ck(api().graph_end(&g.handle_), "CUDA graph capture");
  return g;
}

void CudaGraph::launch() const {
  VLV_CHECK(handle_, ErrorCode::Internal, "CUDA graph: launch of an empty graph");
  ck(api().graph_launch(handle_), "CUDA graph launch");
}

void CudaGraph::reset() {
  if (handle_) api().graph_destroy(handle_);
  handle_ = nullptr;
}

void copy_into(const Tensor& dst, const Tensor& src) {
  VLV_CHECK(dst.device() == Device::CUDA, ErrorCode::Device, "copy_into: the destination ", dst.desc(),
            " is not on CUDA");
  VLV_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype(), ErrorCode::Shape, "copy_into: ", src.desc(),
            " does not fit ", dst.desc());
  // Tensors are always contiguous: one copy of nbytes.
  ck(api().copy(dst.raw(), src.raw(), src.nbytes(),
                src.device() == Device::CUDA ? VLV_CUDA_COPY_D2D : VLV_CUDA_COPY_H2D),
     "copy_into");
}

}  // namespace vlv::cudaops
