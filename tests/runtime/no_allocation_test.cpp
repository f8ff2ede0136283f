// SPEC section 5: a training step makes no heap allocation. After warm-up
// steps at each batch in use, ten steps (inputs refilled, a runtime scalar
// set, the batch switched, kernels that take memory through halide_malloc)
// must not reach the system allocator at all: malloc is interposed for the
// whole test binary (alloc_counter.h), so any allocation is seen.
#include "runtime/alloc_counter.h"
#include "runtime/block_cache.h"
#include "runtime/executor.h"
#include "runtime/random_inputs.h"
#include "runtime/test_model.h"

#include <cstdlib>
#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace netc::rt;

TEST_CASE("the counter sees allocations") {
  test::AllocationCounter counter;
  volatile size_t n = 100;
  std::vector<int> v(n);
  CHECK(counter.count() == 1);
  if (test::counts_malloc()) {
    void* volatile p = std::malloc(n);
    std::free(p);
    void* volatile q = std::aligned_alloc(64, 64 * n);
    std::free(q);
    CHECK(counter.count() == 3);
  }
}

TEST_CASE("ten training steps after warm-up make no heap allocation") {
  std::vector<KernelEntry> table = test::kernel_table();
  Executor ex(test::make_plan(), table.data());
  const Program& train = ex.plan().train;
  ex.initialize(1);
  int64_t warmup_allocations = 0;
  {
    test::AllocationCounter warmup;
    for (int64_t batch : {8, 5}) { // the first step at each batch fills the block cache
      ex.set_batch(batch);
      fill_random_inputs(ex, train, 1, 0, 2);
      ex.run(train);
    }
    warmup_allocations = warmup.count();
  }
  BlockCache::Stats before = halide_block_cache().stats();
  int64_t halide_before = test::halide_mallocs();
  int64_t allocations = 0;
  {
    test::AllocationCounter counter;
    for (uint32_t step = 1; step <= 10; ++step) {
      ex.set_batch(step % 2 ? 8 : 5);
      fill_random_inputs(ex, train, 1, step, 2);
      ex.set_hyper("lr", 0.1 / step);
      ex.run(train);
    }
    allocations = counter.count();
  }
  BlockCache::Stats after = halide_block_cache().stats();
  std::string counted = test::counts_malloc() ? "malloc" : "operator new";
  MESSAGE("warm-up (2 steps): ", warmup_allocations, " heap allocations; 10 steps: ", allocations,
          " (", counted, " counted); block cache: ", after.system_allocations,
          " system allocations, ", after.cache_hits - before.cache_hits, " hits in the 10 steps");
  CHECK(allocations == 0);
  // The kernels did ask for memory, and the cache served all of it.
  CHECK(test::halide_mallocs() - halide_before == 10);
  CHECK(after.cache_hits - before.cache_hits == 10);
  CHECK(after.system_allocations == before.system_allocations);
  CHECK(after.live_blocks == 0);
}
