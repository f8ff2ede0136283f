// The oracles of the random-model differential test (docs/testing.md,
// "Differential testing on random models"). Each runs one parsed model
// against the reference interpreter in double and reports every
// disagreement as a Finding; an empty list means the model passed.
#pragma once

#include "ir/graph.h"

#include <cstdint>
#include <string>
#include <vector>

namespace netc::fuzz {

struct Finding {
  std::string oracle; // "forward", "train-step", "params", "unfused", "batch-split", ...
  std::string detail; // the value (its IR line) and the numbers
};

struct CaseOptions {
  int64_t batch = 3;
  uint64_t seed = 1;
  int steps = 3;             // optimizer steps compared (0: no training oracles)
  bool unfused_infer = true; // the inference kernels again with fusion off
  bool unfused_train = false;
  bool inject_fault = false; // CompiledGraph::inject_fault in every compiled graph
};

struct CaseReport {
  std::vector<Finding> findings;
  size_t kernels = 0; // compiled, over every plan
  double seconds = 0;
};

// Throws (UserError, ShapeError) only when the model itself is rejected:
// the caller counts that as a generator bug, not a compiler mismatch.
CaseReport check_model(const Graph& parsed, const CaseOptions& options);

} // namespace netc::fuzz
