// Counts heap allocations made by any thread of this test binary while a
// counter is alive. alloc_counter.cpp interposes malloc and its relatives
// (forwarding to glibc's __libc_* entry points), so allocations by the C++
// library, fmt, or anything else are seen, not only operator new. Under
// AddressSanitizer, which owns malloc, only operator new is counted.
#pragma once

#include <cstdint>

namespace netc::rt::test {

class AllocationCounter {
public:
  AllocationCounter();
  ~AllocationCounter();
  AllocationCounter(const AllocationCounter&) = delete;
  AllocationCounter& operator=(const AllocationCounter&) = delete;
  int64_t count() const;
};

// True when malloc itself is counted (no sanitizer).
bool counts_malloc();

} // namespace netc::rt::test
