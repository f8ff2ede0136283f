// The machinery every IR -> IR pass shares: rebuild a graph node by node,
// letting the pass replace any node by a value of the new graph, and carry the
// outputs, loss and updates across.
#pragma once

#include "ir/graph.h"

#include <functional>
#include <optional>
#include <vector>

namespace netc {

// Called for each node in order with the new graph's builder, the node whose
// inputs already name values of the new graph, and the node's id in the old
// graph. Returns the value that replaces the node, or nullopt to copy the
// node unchanged.
using RewriteFn =
    std::function<std::optional<ValueId>(GraphBuilder& b, const Node& node, ValueId old)>;

struct Rewritten {
  Graph graph;
  bool changed = false;
  std::vector<ValueId> map; // old ValueId -> new ValueId
};

Rewritten rewrite(const Graph& g, const RewriteFn& fn);

// Values that vary with the data: anything downstream of an input or of the
// batch extent. The rest (params, state, constants and what is computed
// from them alone) is weights-only: inference computes it once per
// checkpoint, in the program's prepare kernels (plan/launch_plan.h).
std::vector<bool> data_dependent(const Graph& g);

// Adds a copy of `node` (inputs already remapped) to the graph being built.
ValueId copy_node(GraphBuilder& b, const Node& node);

} // namespace netc
