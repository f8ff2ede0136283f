// The caching allocator behind halide_malloc.
#include "runtime/block_cache.h"

#include <cstdint>
#include <cstring>
#include <doctest/doctest.h>

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
