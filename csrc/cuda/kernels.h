// The kernel entry points behind the C ABI, one group per .cu file (signatures: abi.h).
#pragma once
#include "cuda/abi.h"

namespace vlv::cuda {

// elementwise.cu
int fill(int dtype, int64_t n, float value, void* y);
int binary(int op, int dtype, const VlvCudaView* out, const void* a, const int64_t* as, const void* b,
           const int64_t* bs, void* y);
int scale(int dtype, int64_t n, const void* x, float alpha, float beta, void* y);
int cast(int sd, int dd, int64_t n, const void* x, void* y);
int copy_strided(int elem_bytes, const VlvCudaView* src, const void* x, const int64_t* dst_strides, void* y);
// activation.cu
int activation(int act, int dtype, int64_t n, const void* x, void* y);
int activation_backward(int act, int dtype, int64_t n, const void* x, const void* gy, void* gx);
int gated(int kind, int dtype, int64_t rows, int64_t h, const void* a, const void* b, void* y);
int gated_backward(int kind, int dtype, int64_t rows, int64_t h, const void* a, const void* b, const void* gy,
                   void* ga, void* gb);
// softmax.cu
int softmax(int dtype, int64_t rows, int64_t cols, const void* x, void* y);
int softmax_backward(int dtype, int64_t rows, int64_t cols, const void* y, const void* gy, void* gx);
// norm.cu
int norm(int rms, int dtype, int64_t rows, int64_t cols, const void* x, const void* w, const void* b, float eps,
         void* y, float* mean, float* rstd);
int norm_backward(int rms, int dtype, int64_t rows, int64_t cols, const void* x, const void* w, const float* mean,
                  const float* rstd, const void* gy, void* gx, float* gw, float* gb);
int group_norm(int dtype, int64_t n, int64_t c, int64_t hw, int64_t groups, const void* x, const void* w,
               const void* b, float eps, int silu, void* y, float* mean, float* rstd);
int group_norm_backward(int dtype, int64_t n, int64_t c, int64_t hw, int64_t groups, const void* x, const void* w,
                        const void* b, const float* mean, const float* rstd, int silu, const void* gy, void* gx,
                        float* gw, float* gb);
// reduce.cu
int reduce_sum(int dtype, const VlvCudaView* kept, const VlvCudaView* reduced, const void* x, float scale,
               int y_dtype, void* y);
// embedding.cu
int embedding(int dtype, int64_t vocab, int64_t dim, const void* w, int64_t n_ids, int ids_dtype, const void* ids,
              void* y);
int embedding_backward(int dtype, int64_t vocab, int64_t dim, int64_t n_ids, int ids_dtype, const void* ids,
                       const void* gy, void* gw);
int rope(int dtype, int64_t b, int64_t h, int64_t l, int64_t d, const void* x, int pos_dtype, const void* pos,
         int pos_batched, float theta, int sign, void* y);
// loss.cu
int cross_entropy(int dtype, int64_t rows, int64_t classes, const void* logits, int t_dtype, const void* targets,
                  int64_t ignore_index, float* loss, float* valid, float* lse);
int cross_entropy_backward(int dtype, int64_t rows, int64_t classes, const void* logits, int t_dtype,
                           const void* targets, int64_t ignore_index, const float* lse, const float* grow,
                           void* glogits);
// random.cu
int philox(int normal, uint64_t seed, uint64_t offset, int64_t n, float* y);
// optim.cu
int adamw(int count, const VlvCudaMulti* t, double lr, double beta1, double beta2, double eps, double wd,
          int64_t step);
int clip_grad_norm(int count, const VlvCudaMulti* t, double max_norm, float* norm);
// gemm.cu
int gemm(const VlvCudaGemm* g);
int gemm_backend(char* name, int size);
// attention.cu
int attention(const VlvCudaAttention* a, void* out, float* lse);
int attention_backward(const VlvCudaAttention* a, const void* out, const float* lse, const void* gout, void* gq,
                       void* gk, void* gv);
// scheduler_step.cu
int scheduler_step(const VlvCudaSchedulerStep* c, int64_t n, const float* x, const float* m, const float* mc,
                   const float* p, const float* noise, float* prev, float* x0);
// conv.cu
int im2col(const VlvCudaConv* c, const void* x, void* col);
int col2im(const VlvCudaConv* c, const void* gcol, void* gx);
// timestep_embedding.cu
int timestep_embedding(const VlvCudaTimestep* a, int t_dtype, const void* t, float* y);
// conv_igemm.cu (ABI 4 (conv))
int conv2d_igemm(const VlvCudaConv* c, const void* x, const void* w, const void* bias, const float* in_scale,
                 const float* in_shift, int in_silu, void* y);
int conv2d_igemm_dgrad(const VlvCudaConv* c, const void* gy, const void* w, void* gx);
int group_norm_scale_shift(int dtype, int64_t n, int64_t c, int64_t groups, const float* mean, const float* rstd,
                           const void* gamma, const void* beta, float* scale, float* shift);

}  // namespace vlv::cuda
