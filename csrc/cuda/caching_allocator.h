// The caching allocator of one CUDA device, as plain C++ so its bookkeeping runs in a host
// test: the raw cudaMalloc/cudaFree/cudaMemGetInfo calls sit behind RawMemory, which the
// device layer (device.cu) implements with the CUDA runtime and the test with a fake.
//
// Sizes are rounded to a size class: multiples of 512 B up to 1 MiB, multiples of 2 MiB
// above. A freed block goes to the free list of its class and is handed out again for any
// request whose class is the same or up to a third smaller than the block (no splitting,
// so at most a quarter of a reused block is wasted). All work is on one stream per device, so a block freed by the host
// can be reused at once: the stream orders the old use before the new one. When the raw allocation fails, the cache is
// emptied and the allocation retried once; a second failure throws AllocFailure with the requested and the free bytes.
//
// Private pools (CUDA graphs): while a pool is open (a capture), every block handed out or
// released joins it. A pool's free blocks serve only allocations made while that pool is
// open, and a released pool block returns to its pool even after the capture ended, so the
// memory a graph's replays write is never handed to other work. Dropping the pool (the
// graph destroyed) moves its free blocks to the common cache and unties its live ones.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace vlv::cuda {

class RawMemory {
 public:
  virtual ~RawMemory() = default;
  virtual void* raw_alloc(size_t bytes) = 0;  // nullptr when the device is out of memory
  virtual void raw_free(void* p) = 0;
  virtual size_t free_bytes() = 0;  // what the device reports free now
};

struct AllocFailure : std::runtime_error {
  AllocFailure(size_t requested, size_t free_bytes);
  size_t requested, free_bytes;
};

struct AllocatorStats {
  uint64_t in_use = 0;    // bytes of live blocks (class sizes)
  uint64_t reserved = 0;  // bytes held from the device: live + cached
  uint64_t peak_in_use = 0;
  uint64_t raw_allocs = 0;  // calls that reached the device allocator
  uint64_t cache_hits = 0;  // allocations served from a free list
};

class CachingAllocator {
 public:
  explicit CachingAllocator(RawMemory& raw) : raw_(raw) {}
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A block of at least `bytes` (0 gives a 512-byte block). Throws AllocFailure.
  void* allocate(size_t bytes);
  // Returns a block from allocate() to its free list; unknown pointers are ignored.
  void release(void* p);
  // Gives every cached (free) block of the common cache back to the device.
  void empty_cache();
  // Opens a new private pool (at most one open at a time) and returns its id (> 0).
  uint64_t open_pool();
  // Stops routing blocks to the open pool; its blocks stay its own.
  void close_pool();
  // Returns pool `id`'s free blocks to the common cache; its live blocks join it when released.
  void drop_pool(uint64_t id);
  AllocatorStats stats() const;

  static size_t class_size(size_t bytes);

 private:
  using FreeList = std::multimap<size_t, void*>;  // class size -> cached block
  void free_cached_locked();
  // Takes the smallest block of `size`'s class or up to a third larger from `list`.
  void* take_locked(FreeList& list, size_t size);
  RawMemory& raw_;
  mutable std::mutex mu_;
  FreeList free_;                                 // the common cache
  std::unordered_map<void*, size_t> live_;        // live block -> class size
  std::unordered_map<uint64_t, FreeList> pools_;  // private pool -> its free blocks
  std::unordered_map<void*, uint64_t> owner_;     // block of a private pool -> the pool
  uint64_t open_ = 0, next_pool_ = 1;
  AllocatorStats stats_;
};

}  // namespace vlv::cuda
