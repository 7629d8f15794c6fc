// One process-wide pool of worker threads, sized to the cores (VLV_NUM_THREADS overrides).
// parallel_for splits [0, n) into contiguous chunks; the calling thread takes a share.
// A second caller while the pool is busy (two async ops at once) runs its loop inline,
// so ops never deadlock on each other and results never depend on the thread count
// (kernels must make each index's result independent of the chunking).
#pragma once
#include <cstdint>
#include <functional>

namespace vlv {

int num_threads();
void set_num_threads(int n);  // from JS; takes effect on the next parallel_for

// fn(begin, end) over chunks of at least `grain` indices.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace vlv
