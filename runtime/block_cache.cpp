#include "runtime/block_cache.h"

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
  std::lock_guard lock(mutex_);
  FreeList* list = nullptr;
  for (FreeList& l : lists_)
    if (l.bytes == rounded) list = &l;
  if (list && list->head) {
    Header* h = list->head;
    list->head = h->next;
    ++stats_.cache_hits;
    --stats_.cached_blocks;
    ++stats_.live_blocks;
    return reinterpret_cast<std::byte*>(h) + kAlignment;
  }
  if (!list) {
    lists_.push_back({rounded, nullptr}); // a new size: only while warming up
    list = &lists_.back();
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
  std::lock_guard lock(mutex_);
  for (FreeList& l : lists_)
    if (l.bytes == h->bytes) {
      h->next = l.head;
      l.head = h;
      --stats_.live_blocks;
      ++stats_.cached_blocks;
      return;
    }
  // Every size got its list in allocate(), so this is not reached; freeing
  // keeps a foreign block from leaking if it ever is.
  std::free(h);
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
