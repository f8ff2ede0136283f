#include "runtime/alloc_counter.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>

// GCC says __SANITIZE_ADDRESS__ under ASan; clang only answers __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define NETC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NETC_ASAN 1
#endif
#endif

namespace {

std::atomic<bool> armed{false};
std::atomic<int64_t> allocations{0};

void note() {
  if (armed.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
}

#if defined(NETC_ASAN)
constexpr bool kCountMalloc = false;
#else
constexpr bool kCountMalloc = true;
#endif

} // namespace

#if !defined(NETC_ASAN)
// glibc's allocator under its internal names; defining malloc and friends
// here replaces them for the whole process (glibc supports this), and these
// forward every call.
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);

void* malloc(size_t n) noexcept {
  note();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) noexcept {
  note();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) noexcept {
  note();
  return __libc_realloc(p, n);
}
void* memalign(size_t alignment, size_t n) noexcept {
  note();
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(size_t alignment, size_t n) noexcept {
  note();
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, size_t alignment, size_t n) noexcept {
  note();
  void* p = __libc_memalign(alignment, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
void free(void* p) noexcept { __libc_free(p); }
}
#endif

// operator new over malloc: counted there, or here under a sanitizer.
void* operator new(size_t n) {
  if (!kCountMalloc) note();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
// The nothrow forms too (std::stable_sort's temporary buffer uses them):
// otherwise the sanitizer's would allocate what our delete frees.
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  if (!kCountMalloc) note();
  return std::malloc(n ? n : 1);
}
void* operator new[](size_t n, const std::nothrow_t& tag) noexcept { return operator new(n, tag); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace netc::rt::test {

AllocationCounter::AllocationCounter() {
  allocations = 0;
  armed = true;
}
AllocationCounter::~AllocationCounter() { armed = false; }
int64_t AllocationCounter::count() const { return allocations.load(); }
bool counts_malloc() { return kCountMalloc; }

} // namespace netc::rt::test
