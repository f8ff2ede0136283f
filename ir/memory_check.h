// Whether a model's tensors fit where it will run, checked before anything is
// allocated, so that a model too large says so at the model line that asks
// for the memory instead of ending in std::bad_alloc (issue 13).
#pragma once

#include "ir/graph.h"

#include <cstdint>

namespace netc {

struct SizeLimits {
  int64_t batch = 1;                 // the batch the tensors are sized at
  int64_t bytes_per_element = 4;     // 4 for compiled f32 code, 8 for the interpreter's doubles
  uint64_t memory_bytes = 0;         // this machine's memory (0: not checked)
  int64_t max_elements = 0;          // per tensor (0: not checked); 2^31 - 1 for compiled kernels
  const char* max_elements_why = ""; // "compiled kernels index with 32-bit integers"
};

// Throws a UserError located at the node of the first tensor over a limit:
// one tensor with more than max_elements, one tensor larger than the memory,
// or all parameters together larger than the memory (at the largest one).
void check_tensor_sizes(const Graph& g, const SizeLimits& limits);

// Physical memory (sysconf), or 0 when unknown.
uint64_t physical_memory_bytes();

} // namespace netc
