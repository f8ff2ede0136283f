// The caching allocator behind halide_malloc.
#include "runtime/block_cache.h"

#include <cstdint>
#include <cstring>
#include <doctest/doctest.h>
#include <thread>

using netc::rt::BlockCache;

TEST_CASE("a released block is handed out again for the same size") {
  BlockCache cache;
  void* a = cache.allocate(1000);
  REQUIRE(a);
  CHECK(reinterpret_cast<uintptr_t>(a) % BlockCache::kAlignment == 0);
  std::memset(a, 1, 1000);
  cache.release(a);
  void* b = cache.allocate(1000);
  CHECK(b == a);
  void* c = cache.allocate(1000); // a second live block of that size: a new one
  CHECK(c != a);
  CHECK(cache.stats().system_allocations == 2);
  CHECK(cache.stats().cache_hits == 1);
  CHECK(cache.stats().live_blocks == 2);
  cache.release(b);
  cache.release(c);
  CHECK(cache.stats().cached_blocks == 2);
  CHECK(cache.stats().live_blocks == 0);
}

TEST_CASE("sizes are rounded to the alignment, and lists are per size") {
  BlockCache cache;
  void* a = cache.allocate(100);
  cache.release(a);
  void* b = cache.allocate(128); // the same rounded size
  CHECK(b == a);
  void* big = cache.allocate(4096);
  CHECK(big != a);
  cache.release(big);
  cache.release(b);
  cache.release(nullptr); // ignored
  void* empty = cache.allocate(0);
  CHECK(empty != nullptr);
  cache.release(empty);
  CHECK(cache.allocate(SIZE_MAX) == nullptr); // reported to Halide as out of memory
  CHECK(cache.stats().live_blocks == 0);
}

// Two threads alternating over one size (a kernel's tasks on two cores):
// each gets back the block it released last, which is still in its core's
// cache, and takes another thread's block only when it has none of its own.
TEST_CASE("each thread gets back its own released block first") {
  BlockCache cache;
  void* mine = cache.allocate(50000);
  void* theirs = nullptr;
  std::thread other([&] { theirs = cache.allocate(50000); });
  other.join();
  cache.release(mine);
  std::thread([&] { cache.release(theirs); }).join();
  void* first = cache.allocate(50000);  // its own, though the other's came back later
  void* second = cache.allocate(50000); // none of its own left: the other's
  CHECK(first == mine);
  CHECK(second == theirs);
  CHECK(cache.stats().system_allocations == 2);
  cache.release(first);
  cache.release(second);
  CHECK(cache.stats().live_blocks == 0);
}
