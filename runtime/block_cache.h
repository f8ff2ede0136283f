// A caching allocator for the memory that Halide's generated code asks for
// inside a kernel (halide_malloc: Funcs computed at root, or too large for the
// stack). A kernel frees its blocks before it returns and the next step asks
// for the same sizes again, so a free list per size serves every step after
// the first from the cache: a training step makes no system allocation
// (SPEC section 5). Blocks go back to the system only when the cache dies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace netc::rt {

class BlockCache {
public:
  // Halide assumes at least its own malloc's alignment (32 on x86); a cache
  // line pair also keeps AVX-512 loads of adjacent blocks apart.
  static constexpr size_t kAlignment = 128;

  struct Stats {
    int64_t system_allocations = 0; // blocks taken from the system allocator
    int64_t cache_hits = 0;         // requests served from a free list
    int64_t live_blocks = 0;        // handed out and not yet released
    int64_t cached_blocks = 0;      // on the free lists
  };

  BlockCache() { lists_.reserve(kListCapacity); }
  ~BlockCache();
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // A block of at least `bytes`, kAlignment-aligned; nullptr when the system
  // is out of memory (Halide reports that as an error of the kernel).
  void* allocate(size_t bytes);
  // Returns a block of allocate() to its free list; nullptr is ignored.
  void release(void* block);
  Stats stats() const;

private:
  struct Header;
  // One list per (size, thread that last released the block): a thread
  // takes back its own blocks first, still in its core's cache. A single
  // LIFO list per size handed each block to the other thread next (a
  // kernel's tasks alternate between the cores), so every task began by
  // pulling its scratch lines out of the other core's cache: Winograd
  // kernels ran 1.24x faster on two threads than on one.
  struct FreeList {
    size_t bytes = 0; // the rounded size of its blocks
    int owner = 0;    // the releasing thread's slot (thread_slot())
    Header* head = nullptr;
  };

  // Lists are made while warming up; reserved so that making one later (a
  // thread releasing a size for the first time) does not allocate.
  static constexpr size_t kListCapacity = 1024;
  mutable std::mutex mutex_;    // Halide allocates from its worker threads too
  std::vector<FreeList> lists_; // a handful of sizes: a linear search is fastest
  Stats stats_;
};

// The cache behind the Halide runtime's allocator: one per process, because
// halide_set_custom_malloc takes a plain function (no user context).
BlockCache& halide_block_cache();

} // namespace netc::rt
