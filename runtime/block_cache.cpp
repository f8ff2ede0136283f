#include "runtime/block_cache.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>

namespace netc::rt {

// Precedes every block, one alignment unit wide so the block stays aligned.
// `next` links the block into its free list while it is cached.
struct BlockCache::Header {
  size_t bytes;
  Header* next;
};

namespace {

constexpr size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

// A small number per thread, in the order threads first use a cache.
int thread_slot() {
  static std::atomic<int> next{0};
  thread_local const int slot = next.fetch_add(1, std::memory_order_relaxed);
  return slot;
}

} // namespace

BlockCache::~BlockCache() {
  for (FreeList& list : lists_)
    while (Header* h = list.head) {
      list.head = h->next;
      std::free(h);
    }
}

void* BlockCache::allocate(size_t bytes) {
  static_assert(sizeof(Header) <= kAlignment);
  if (bytes > SIZE_MAX / 2) return nullptr;
  // Rounding lets near sizes (the same Func at another batch) share a list.
  size_t rounded = round_up(bytes == 0 ? 1 : bytes, kAlignment);
  int me = thread_slot();
  std::lock_guard lock(mutex_);
  // This thread's blocks of the size, else another thread's (no system
  // allocation while any block of the size is free).
  FreeList *mine = nullptr, *other = nullptr;
  for (FreeList& l : lists_) {
    if (l.bytes != rounded) continue;
    if (l.owner == me)
      mine = &l;
    else if (l.head && !other)
      other = &l;
  }
  FreeList* list = mine && mine->head ? mine : other;
  if (list) {
    Header* h = list->head;
    list->head = h->next;
    ++stats_.cache_hits;
    --stats_.cached_blocks;
    ++stats_.live_blocks;
    return reinterpret_cast<std::byte*>(h) + kAlignment;
  }
  void* raw = std::aligned_alloc(kAlignment, kAlignment + rounded);
  if (!raw) return nullptr;
  auto* h = static_cast<Header*>(raw);
  h->bytes = rounded;
  h->next = nullptr;
  ++stats_.system_allocations;
  ++stats_.live_blocks;
  return static_cast<std::byte*>(raw) + kAlignment;
}

void BlockCache::release(void* block) {
  if (!block) return;
  auto* h = reinterpret_cast<Header*>(static_cast<std::byte*>(block) - kAlignment);
  int me = thread_slot();
  std::lock_guard lock(mutex_);
  FreeList* list = nullptr;
  for (FreeList& l : lists_)
    if (l.bytes == h->bytes && l.owner == me) list = &l;
  if (!list) {
    // (A list per size and thread, made while warming up; within the
    // reserved capacity, so without allocating, if a thread first releases
    // a size later.)
    lists_.push_back({h->bytes, me, nullptr});
    list = &lists_.back();
  }
  h->next = list->head;
  list->head = h;
  --stats_.live_blocks;
  ++stats_.cached_blocks;
}

BlockCache::Stats BlockCache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

BlockCache& halide_block_cache() {
  static BlockCache cache;
  return cache;
}

} // namespace netc::rt
