// Running a model on the reference interpreter the way a compiled binary runs
// it: parameters drawn by their initializers, random or given batches, and
// training steps that write their updates back. It is slow on purpose: the
// oracle the compiled code is checked against (`netc run`, `netc gradcheck`).
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"

#include <cstdint>
#include <map>
#include <string>

namespace netc {

using Values = std::map<std::string, Tensor<double>>;

// Random values for every Input leaf of g: normal data; class labels drawn
// uniformly from their classes; 0/1 targets for float labels. `draw` picks
// another batch from the same seed.
Values random_batch(const Graph& g, int64_t batch, uint64_t seed, uint32_t draw = 0);

// Runs one training step graph: evaluates it with `values` (params, state and
// the batch's inputs) and writes every update back into `values`. Returns the
// loss. `hypers` override runtime scalars (lr, keep probabilities...).
double reference_step(const Graph& step, Values& values, int64_t batch, uint64_t seed,
                      const std::map<std::string, double>& hypers = {});

} // namespace netc
