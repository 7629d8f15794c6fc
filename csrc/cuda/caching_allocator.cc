#include "cuda/caching_allocator.h"

#include <algorithm>

namespace vlv::cuda {

namespace {
constexpr size_t kSmallStep = 512, kSmallMax = size_t(1) << 20, kLargeStep = size_t(2) << 20;

std::string oom_message(size_t requested, size_t free_bytes) {
  return "out of memory on the CUDA device: requested " + std::to_string(requested) + " bytes, " +
         std::to_string(free_bytes) + " bytes free";
}
}  // namespace

AllocFailure::AllocFailure(size_t r, size_t f) : std::runtime_error(oom_message(r, f)), requested(r), free_bytes(f) {}

size_t CachingAllocator::class_size(size_t bytes) {
  if (bytes == 0) return kSmallStep;
  if (bytes <= kSmallMax) return (bytes + kSmallStep - 1) / kSmallStep * kSmallStep;
  return (bytes + kLargeStep - 1) / kLargeStep * kLargeStep;
}

CachingAllocator::~CachingAllocator() {
  // Live blocks belong to tensors that outlive the allocator only at process exit; the
  // driver frees them with the context.
  std::lock_guard<std::mutex> lock(mu_);
  free_cached_locked();
}

void* CachingAllocator::take_locked(FreeList& list, size_t size) {
  // The smallest cached block of this class or up to a third larger (a quarter of it wasted).
  auto it = list.lower_bound(size);
  if (it == list.end() || it->first > size + size / 3) return nullptr;
  void* p = it->second;
  live_[p] = it->first;
  stats_.in_use += it->first;
  list.erase(it);
  ++stats_.cache_hits;
  stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.in_use);
  return p;
}

void* CachingAllocator::allocate(size_t bytes) {
  const size_t size = class_size(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  void* p = open_ ? take_locked(pools_[open_], size) : nullptr;
  if (!p) p = take_locked(free_, size);
  if (!p) {
    p = raw_.raw_alloc(size);
    if (!p) {
      free_cached_locked();
      p = raw_.raw_alloc(size);
    }
    if (!p) throw AllocFailure(bytes, raw_.free_bytes());
    ++stats_.raw_allocs;
    live_[p] = size;
    stats_.in_use += size;
    stats_.reserved += size;
    stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.in_use);
  }
  if (open_) owner_[p] = open_;
  return p;
}

void CachingAllocator::release(void* p) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(p);
  if (it == live_.end()) return;
  stats_.in_use -= it->second;
  // A block freed during a capture may still be read by the captured work: it joins the pool.
  if (open_ && !owner_.count(p)) owner_[p] = open_;
  auto own = owner_.find(p);
  if (own != owner_.end()) pools_[own->second].emplace(it->second, p);
  else free_.emplace(it->second, p);
  live_.erase(it);
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  free_cached_locked();
}

uint64_t CachingAllocator::open_pool() {
  std::lock_guard<std::mutex> lock(mu_);
  open_ = next_pool_++;
  pools_[open_];
  return open_;
}

void CachingAllocator::close_pool() {
  std::lock_guard<std::mutex> lock(mu_);
  open_ = 0;
}

void CachingAllocator::drop_pool(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (open_ == id) open_ = 0;
  auto pool = pools_.find(id);
  if (pool == pools_.end()) return;
  for (auto& [size, p] : pool->second) free_.emplace(size, p);
  pools_.erase(pool);
  for (auto it = owner_.begin(); it != owner_.end();) it = it->second == id ? owner_.erase(it) : std::next(it);
}

void CachingAllocator::free_cached_locked() {
  for (auto& [size, p] : free_) {
    raw_.raw_free(p);
    stats_.reserved -= size;
  }
  free_.clear();
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace vlv::cuda
