// Static memory planning: every tensor a step materializes gets a fixed
// offset in one arena, planned at the largest batch and reused by liveness,
// so a step allocates nothing. Params, optimizer state, running statistics
// and runtime scalars live in a separate persistent region, by name.
#pragma once

#include "passes/fusion.h"

#include <cstdint>
#include <string>
#include <vector>

namespace netc {

struct PlannedBuffer {
  ValueId value = -1;
  int64_t bytes = 0;       // at the largest batch, 64-byte aligned
  int64_t offset = 0;      // in the arena; -1 when it aliases a persistent leaf
  int first = 0;           // the kernel that writes it (-1: a step input)
  int last = 0;            // the last kernel that reads it (the step's end for results)
  std::string in_place_of; // the persistent leaf this update is written over, if any
  ValueId view_of = -1;    // a view (FusionPlan::views): the source whose offset it shares
};

struct MemoryPlan {
  std::vector<PlannedBuffer> buffers; // step inputs and kernel outputs
  int64_t arena_bytes = 0;
  int64_t without_reuse = 0; // the sum of all buffers: what reuse saves
};

// Kernel outputs that are updates written by an update-only pointwise kernel
// go straight into the persistent leaf they update (every other reader ran
// before, fusion orders those kernels last); the rest get arena offsets.
MemoryPlan plan_memory(const Graph& g, const FusionPlan& fusion, int64_t max_batch);

// True when one of the kernel's outputs is written over a persistent leaf
// that the kernel also reads. Such a kernel must compute each element exactly
// once: a schedule that recomputes elements (Halide's ShiftInwards tails)
// would read values it has already updated.
bool writes_in_place(const MemoryPlan& plan, const FusedKernel& kernel);

std::string print_memory_plan(const Graph& g, const FusionPlan& fusion, const MemoryPlan& plan);

} // namespace netc
