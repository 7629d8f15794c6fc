// Host test of the CUDA caching allocator's bookkeeping: a fake RawMemory with a byte budget
// stands in for cudaMalloc/cudaFree/cudaMemGetInfo. Built as vlv_cuda_host_tests; runs in CI
// with no GPU. Prints "N checks passed" and exits 1 on the first failure.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cuda/caching_allocator.h"

using vlv::cuda::AllocFailure;
using vlv::cuda::CachingAllocator;

namespace {
int g_checks = 0;
#define CHECK(cond)                                                                                                    \
  do {                                                                                                                 \
    ++g_checks;                                                                                                        \
    if (!(cond)) {                                                                                                     \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                                    \
      std::exit(1);                                                                                                    \
    }                                                                                                                  \
  } while (0)

// A device with `budget` bytes; counts raw calls and rejects frees of unknown pointers.
struct FakeMemory : vlv::cuda::RawMemory {
  explicit FakeMemory(size_t budget) : budget(budget) {}
  void* raw_alloc(size_t bytes) override {
    ++allocs;
    if (used + bytes > budget) return nullptr;
    auto block = std::make_unique<char[]>(bytes);
    void* p = block.get();
    blocks[p] = {std::move(block), bytes};
    used += bytes;
    return p;
  }
  void raw_free(void* p) override {
    ++frees;
    auto it = blocks.find(p);
    CHECK(it != blocks.end());
    used -= it->second.second;
    blocks.erase(it);
  }
  size_t free_bytes() override { return budget - used; }
  size_t budget, used = 0, allocs = 0, frees = 0;
  std::map<void*, std::pair<std::unique_ptr<char[]>, size_t>> blocks;
};

void test_size_classes() {
  CHECK(CachingAllocator::class_size(0) == 512);
  CHECK(CachingAllocator::class_size(1) == 512);
  CHECK(CachingAllocator::class_size(512) == 512);
  CHECK(CachingAllocator::class_size(513) == 1024);
  CHECK(CachingAllocator::class_size(1 << 20) == (1 << 20));
  CHECK(CachingAllocator::class_size((1 << 20) + 1) == (2 << 20));
  CHECK(CachingAllocator::class_size((5 << 20) + 7) == (6 << 20));
}

void test_reuse_without_raw_calls() {
  FakeMemory mem(64 << 20);
  CachingAllocator a(mem);
  void* p = a.allocate(1000);
  CHECK(a.stats().in_use == 1024 && a.stats().reserved == 1024 && mem.allocs == 1);
  a.release(p);
  CHECK(a.stats().in_use == 0 && a.stats().reserved == 1024);
  // The same class comes back from the cache, 100 times, with one raw allocation in all.
  for (int i = 0; i < 100; ++i) {
    void* q = a.allocate(900);
    CHECK(q == p);
    a.release(q);
  }
  CHECK(mem.allocs == 1 && a.stats().cache_hits == 100 && a.stats().raw_allocs == 1);
  // A much larger request does not take the small block.
  void* big = a.allocate(3 << 20);
  CHECK(big != p && mem.allocs == 2 && a.stats().reserved == 1024 + (4 << 20));
  a.release(big);
  // A request up to a third smaller than a cached block reuses it; a much smaller one does not.
  void* r = a.allocate(3 << 20);
  CHECK(r == big);
  a.release(r);
  void* s = a.allocate(1 << 20);
  CHECK(s != big);
  a.release(s);
  CHECK(a.stats().peak_in_use == (4 << 20));
}

void test_distinct_live_blocks() {
  FakeMemory mem(64 << 20);
  CachingAllocator a(mem);
  std::set<void*> seen;
  std::vector<void*> ps;
  for (int i = 0; i < 50; ++i) {
    void* p = a.allocate(size_t(i) * 700 + 1);
    CHECK(seen.insert(p).second);
    ps.push_back(p);
  }
  size_t expect = 0;
  for (int i = 0; i < 50; ++i) expect += CachingAllocator::class_size(size_t(i) * 700 + 1);
  CHECK(a.stats().in_use == expect);
  for (void* p : ps) a.release(p);
  CHECK(a.stats().in_use == 0 && a.stats().reserved == expect);
  a.release(ps[0]);                            // a double release is ignored
  a.release(reinterpret_cast<void*>(0x1234));  // an unknown pointer too
  CHECK(a.stats().in_use == 0);
  a.empty_cache();
  CHECK(a.stats().reserved == 0 && mem.used == 0 && mem.frees == 50);
}

void test_oom_retries_after_emptying_cache() {
  FakeMemory mem(8 << 20);
  CachingAllocator a(mem);
  void* p = a.allocate(5 << 20);  // 6 MiB class
  a.release(p);                   // cached: 6 MiB reserved, 2 MiB free on the device
  void* q = a.allocate(3 << 20);  // 4 MiB class: 6 MiB block is more than a third larger
  CHECK(q != nullptr && a.stats().reserved == (4 << 20) && mem.used == (4 << 20));
  bool thrown = false;
  try {
    a.allocate(7 << 20);
  } catch (const AllocFailure& e) {
    thrown = true;
    CHECK(e.requested == (7u << 20) && e.free_bytes == (4u << 20));
    std::string m = e.what();
    CHECK(m.find("requested 7340032 bytes") != std::string::npos);
    CHECK(m.find("4194304 bytes free") != std::string::npos);
  }
  CHECK(thrown);
  CHECK(a.stats().in_use == (4 << 20));  // the failure changed nothing live
  a.release(q);
  void* r = a.allocate(7 << 20);  // fits once the cache is dropped
  CHECK(r != nullptr && a.stats().reserved == (8 << 20));
  a.release(r);
}

void test_threads() {
  FakeMemory mem(256 << 20);
  CachingAllocator a(mem);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&a, t] {
      for (int i = 0; i < 2000; ++i) {
        void* p = a.allocate(size_t((i * 37 + t) % 5000) + 1);
        a.release(p);
      }
    });
  for (auto& t : ts) t.join();
  CHECK(a.stats().in_use == 0 && a.stats().reserved == mem.used);
  a.empty_cache();
  CHECK(mem.used == 0);
}
// A graph's private pool: blocks allocated or freed during the capture stay the pool's, are
// never handed to allocations outside it (a replay would overwrite them), serve the next
// capture of the same pool only while it is open, and go back to the cache when it is dropped.
void test_private_pool() {
  FakeMemory mem(64 << 20);
  CachingAllocator a(mem);
  void* before = a.allocate(4096);  // allocated before the capture, freed during it
  const uint64_t pool = a.open_pool();
  CHECK(pool > 0);
  void* t1 = a.allocate(4096);  // a temporary of the captured work
  CHECK(t1 != before);
  a.release(before);  // may still be read by the captured work: joins the pool
  a.release(t1);
  void* t2 = a.allocate(4096);  // reuse inside the capture is stream-ordered: allowed
  CHECK(t2 == t1 || t2 == before);
  void* out = a.allocate(8192);  // the graph's output, held past the capture
  a.close_pool();
  // Outside the capture no pool block is handed out: a fresh raw block each time.
  const size_t raw = mem.allocs;
  void* o1 = a.allocate(4096);
  CHECK(o1 != t1 && o1 != before && o1 != t2 && o1 != out);
  CHECK(mem.allocs == raw + 1);
  a.release(t2);  // a pool block released after the capture stays the pool's
  void* o2 = a.allocate(4096);
  CHECK(o2 != t1 && o2 != before);
  // empty_cache leaves the pool's free blocks alone (a replay still uses them).
  const size_t frees = mem.frees;
  a.release(o1);
  a.release(o2);
  a.empty_cache();
  CHECK(mem.frees == frees + 2);
  CHECK(a.stats().reserved == mem.used);
  // Dropping the pool returns its free blocks to the cache; its live block (out) follows on release.
  a.drop_pool(pool);
  void* r1 = a.allocate(4096);
  CHECK(r1 == t1 || r1 == before);
  a.release(out);
  void* r2 = a.allocate(8192);
  CHECK(r2 == out);
  a.release(r1);
  a.release(r2);
  // A second pool starts empty of the first's blocks only by what the cache holds: it may take
  // common blocks, which then become its own until dropped.
  const uint64_t pool2 = a.open_pool();
  CHECK(pool2 != pool);
  void* q = a.allocate(4096);
  a.close_pool();
  a.release(q);
  void* outside = a.allocate(4096);
  CHECK(outside != q);
  a.release(outside);
  a.drop_pool(pool2);
  a.empty_cache();
  CHECK(a.stats().in_use == 0 && mem.used == 0);
}
}  // namespace

int main() {
  test_size_classes();
  test_reuse_without_raw_calls();
  test_distinct_live_blocks();
  test_oom_retries_after_emptying_cache();
  test_threads();
  test_private_pool();
  std::printf("vlv_cuda_host_tests: %d checks passed\n", g_checks);
  return 0;
}
