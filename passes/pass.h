// What every IR -> IR pass returns (STYLE.md #5, XLA's `Run(module) ->
// changed`): the new graph and whether it differs from the one it was given.
// `changed` is a promise the pipeline relies on: when it is false the graph
// is the input graph, node for node, so `netc dump --after all` prints
// "(unchanged)" instead of the same graph again (passes/pipeline.h).
#pragma once

#include "ir/graph.h"

namespace netc {

struct PassResult {
  Graph graph;
  bool changed = false;
};

} // namespace netc
