// The kernels' parallel loops (runtime/thread_pool.h): every index runs
// exactly once over many short loops back to back (the pattern of a training
// step), errors come back, nested loops and concurrent callers run serially.
#include "runtime/thread_pool.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace netc::rt;

namespace {

struct Counts {
  std::vector<std::atomic<int>> runs;
  explicit Counts(size_t n) : runs(n) {}
};

int count_index(void* uc, int i, uint8_t* /*closure*/) {
  static_cast<Counts*>(uc)->runs[size_t(i)].fetch_add(1);
  return 0;
}

int fail_on_odd(void* /*uc*/, int i, uint8_t* /*closure*/) { return i % 2 ? 7 : 0; }

thread_local int depth = 0;
int nested(void* uc, int i, uint8_t* closure) {
  ++depth;
  int r = parallel_for(uc, count_index, i * 4, 4, closure); // serial inside a task
  --depth;
  return r;
}

} // namespace

TEST_CASE("every index of every loop runs exactly once") {
  for (int threads : {1, 2, 4}) {
    CAPTURE(threads);
    set_pool_threads(threads);
    CHECK(pool_threads() == threads);
    for (int extent : {0, 1, 2, 3, 7, 64, 1000}) {
      Counts c(size_t(extent) + 5);
      for (int loop = 0; loop < 200; ++loop)
        REQUIRE(parallel_for(&c, count_index, 5, extent, nullptr) == 0);
      for (int i = 0; i < 5; ++i) CHECK(c.runs[size_t(i)] == 0);
      for (int i = 5; i < extent + 5; ++i) CHECK(c.runs[size_t(i)] == 200);
    }
  }
  set_pool_threads(2);
}

TEST_CASE("a failing task's result is returned") {
  set_pool_threads(2);
  CHECK(parallel_for(nullptr, fail_on_odd, 0, 10, nullptr) == 7);
  CHECK(parallel_for(nullptr, fail_on_odd, 0, 1, nullptr) == 0);
}

TEST_CASE("nested loops and concurrent callers run serially, and complete") {
  set_pool_threads(2);
  Counts c(64);
  REQUIRE(parallel_for(&c, nested, 0, 16, nullptr) == 0);
  for (int i = 0; i < 64; ++i) CHECK(c.runs[size_t(i)] == 1);
  Counts a(100), b(100);
  std::thread other([&] {
    for (int loop = 0; loop < 300; ++loop) parallel_for(&a, count_index, 0, 100, nullptr);
  });
  for (int loop = 0; loop < 300; ++loop) parallel_for(&b, count_index, 0, 100, nullptr);
  other.join();
  for (int i = 0; i < 100; ++i) {
    CHECK(a.runs[size_t(i)] == 300);
    CHECK(b.runs[size_t(i)] == 300);
  }
}
