// Embeddings and positions: embedding (gather rows of weight[V, D] by i32/i64 ids; an id out
// of range is reported as E_ARG after a flag read back), its backward as a deterministic
// scatter-add (the ids are sorted on the host into segments, one block per distinct id sums
// its positions in order: no float atomics), and rotary embeddings (rotate-half pairs
// (i, i + D/2), angle = pos * theta^(-2i/D); the backward is the rotation by -angle).
// Not measured on a GPU yet.
#include <algorithm>
#include <numeric>
#include <vector>

#include "cuda/device.h"
#include "cuda/kernels.h"
#include "ops/cuda/kernels/common.cuh"

namespace vlv::cuda {

namespace {
__device__ __forceinline__ int64_t read_id(const void* ids, int i64, int64_t i) {
  return i64 ? static_cast<const int64_t*>(ids)[i] : int64_t(static_cast<const int32_t*>(ids)[i]);
}

// bad[0] = 1 + the index of the first out-of-range id (atomicMin keeps the first).
template <class T>
__global__ void embedding_kernel(const T* w, int64_t vocab, int64_t dim, const void* ids, int i64, int64_t n, T* y,
                                 unsigned long long* bad) {
  VLV_KERNEL_LOOP(i, n * dim) {
    int64_t r = i / dim, j = i - r * dim, id = read_id(ids, i64, r);
    if (id < 0 || id >= vocab) {
      atomicMin(bad, (unsigned long long)r);
      store(y, i, NAN);
    } else {
      store(y, i, load(w, id * dim + j));
    }
  }
}

// Block s sums the gy rows listed in order[seg[s] .. seg[s+1]) into gw[row[s]].
template <class T>
__global__ void embedding_backward_kernel(const T* gy, int64_t dim, const int64_t* order, const int64_t* seg,
                                          const int64_t* row, float* gw) {
  int64_t s = blockIdx.x;
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) {
    float acc = 0.f;
    for (int64_t k = seg[s]; k < seg[s + 1]; ++k) acc += load(gy, order[k] * dim + j);
    gw[row[s] * dim + j] = acc;
  }
}

template <class T>
__global__ void rope_kernel(const T* x, T* y, int64_t h, int64_t l, int64_t d, const void* pos, int pos_i64,
                            int batched, float theta, float sign, int bf16_tables, int64_t total) {
  int64_t half = d / 2;
  VLV_KERNEL_LOOP(i, total) {  // one thread per pair: i = ((b*h + hh)*l + t)*half + k
    int64_t k = i % half, row = i / half, t = row % l, b = row / (l * h);
    double p = double(read_id(pos, pos_i64, batched ? b * l + t : t));
    double angle = p * pow(double(theta), -2.0 * double(k) / double(d));
    float c = float(cos(angle)), s = float(sin(angle));
    if (bf16_tables) {  // transformers casts cos/sin to a bf16 input's dtype
      c = __bfloat162float(__float2bfloat16_rn(c));
      s = __bfloat162float(__float2bfloat16_rn(s));
    }
    s *= sign;
    int64_t base = row * d;
    float x1 = load(x, base + k), x2 = load(x, base + k + half);
    store(y, base + k, x1 * c - x2 * s);
    store(y, base + k + half, x2 * c + x1 * s);
  }
}
}  // namespace

int embedding(int dtype, int64_t vocab, int64_t dim, const void* w, int64_t n_ids, int ids_dtype, const void* ids,
              void* y) {
  if (int rc = device_ok()) return rc;
  if (n_ids * dim == 0) return VLV_CUDA_OK;
  Scratch flag(sizeof(unsigned long long));
  if (flag.status()) return flag.status();
  auto* bad = static_cast<unsigned long long*>(flag.get());
  if (int rc = check(cudaMemsetAsync(bad, 0xff, sizeof(*bad), stream()), "embedding: flag")) return rc;
  int rc = VLV_FLOAT_SWITCH(dtype, T, {
    embedding_kernel<T><<<blocks_for(n_ids * dim, 256), 256, 0, stream()>>>(
        static_cast<const T*>(w), vocab, dim, ids, ids_dtype == VLV_CUDA_I64, n_ids, static_cast<T*>(y), bad);
    return launched("embedding");
  });
  if (rc) return rc;
  unsigned long long first = 0;
  if (int rc2 = copy(&first, bad, sizeof(first), VLV_CUDA_COPY_D2H)) return rc2;
  if (first != ~0ull) {
    int64_t id = 0;
    size_t isz = ids_dtype == VLV_CUDA_I64 ? 8 : 4;
    if (int rc2 = copy(&id, static_cast<const char*>(ids) + first * isz, isz, VLV_CUDA_COPY_D2H)) return rc2;
    if (isz == 4) id = int64_t(int32_t(id));
    return set_error(VLV_CUDA_E_ARG, "embedding: id " + std::to_string(id) + " at position " + std::to_string(first) +
                                         " is out of range [0, " + std::to_string(vocab) + ")");
  }
  return VLV_CUDA_OK;
}

int embedding_backward(int dtype, int64_t vocab, int64_t dim, int64_t n_ids, int ids_dtype, const void* ids,
                       const void* gy, void* gw) {
  if (int rc = device_ok()) return rc;
  if (int rc = check(cudaMemsetAsync(gw, 0, size_t(vocab * dim) * sizeof(float), stream()), "embedding_backward"))
    return rc;
  if (n_ids == 0) return VLV_CUDA_OK;
  // Segments by id on the host: the ids are small next to the gradients.
  size_t isz = ids_dtype == VLV_CUDA_I64 ? 8 : 4;
  std::vector<char> raw(size_t(n_ids) * isz);
  if (int rc = copy(raw.data(), ids, raw.size(), VLV_CUDA_COPY_D2H)) return rc;
  std::vector<int64_t> id(n_ids);
  for (int64_t i = 0; i < n_ids; ++i)
    id[i] = isz == 8 ? reinterpret_cast<int64_t*>(raw.data())[i] : reinterpret_cast<int32_t*>(raw.data())[i];
  std::vector<int64_t> order(n_ids);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return id[a] < id[b]; });
  std::vector<int64_t> seg, row;
  for (int64_t k = 0; k < n_ids; ++k) {
    int64_t v = id[order[k]];
    if (v < 0 || v >= vocab)
      return set_error(VLV_CUDA_E_ARG,
                       "embedding: id " + std::to_string(v) + " is out of range [0, " + std::to_string(vocab) + ")");
    if (k == 0 || v != id[order[k - 1]]) {
      seg.push_back(k);
      row.push_back(v);
    }
  }
  seg.push_back(n_ids);
  int64_t segs = int64_t(row.size());
  Scratch dev((order.size() + seg.size() + row.size()) * sizeof(int64_t));
  if (dev.status()) return dev.status();
  auto* d_order = static_cast<int64_t*>(dev.get());
  int64_t* d_seg = d_order + order.size();
  int64_t* d_row = d_seg + seg.size();
  if (int rc = copy(d_order, order.data(), order.size() * 8, VLV_CUDA_COPY_H2D)) return rc;
  if (int rc = copy(d_seg, seg.data(), seg.size() * 8, VLV_CUDA_COPY_H2D)) return rc;
  if (int rc = copy(d_row, row.data(), row.size() * 8, VLV_CUDA_COPY_H2D)) return rc;
  return VLV_FLOAT_SWITCH(dtype, T, {
    embedding_backward_kernel<T><<<unsigned(segs), 128, 0, stream()>>>(static_cast<const T*>(gy), dim, d_order, d_seg,
                                                                       d_row, static_cast<float*>(gw));
    return launched("embedding_backward");
  });
}

int rope(int dtype, int64_t b, int64_t h, int64_t l, int64_t d, const void* x, int pos_dtype, const void* pos,
         int pos_batched, float theta, int sign, int bf16_tables, void* y) {
  if (int rc = device_ok()) return rc;
  int64_t total = b * h * l * (d / 2);
  if (total == 0) return VLV_CUDA_OK;
  return VLV_FLOAT_SWITCH(dtype, T, {
    rope_kernel<T><<<blocks_for(total, 256), 256, 0, stream()>>>(static_cast<const T*>(x), static_cast<T*>(y), h, l, d,
                                                                 pos, pos_dtype == VLV_CUDA_I64, pos_batched, theta,
                                                                 float(sign), bf16_tables, total);
    return launched("rope");
  });
}

}  // namespace vlv::cuda
