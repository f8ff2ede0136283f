// Reverse-mode symbolic differentiation. The backward graph is written in IR,
// by each op's gradient rule (ir/ops/<family>.cpp), so it is optimized and
// compiled exactly like the forward graph.
#pragma once

#include "ir/graph.h"

#include <vector>

namespace netc {

struct Differentiated {
  // The forward nodes unchanged (same ValueIds), followed by the backward nodes.
  Graph graph;
  // d loss / d param for every trainable (non-frozen) Param leaf, in leaf
  // order; `name` is the param's name. A param the loss does not depend on
  // gets an explicit zero gradient.
  std::vector<NamedValue> grads;
};

// Differentiates g's loss with respect to its trainable params. Fan-out sums
// the gradients of every use (a reused parameter gets the sum over its uses);
// frozen params and integer inputs get none. If a gradient must flow through
// ops that have no gradient rule, all of them are reported at once, each at
// its line in the model (UserError).
Differentiated differentiate(const Graph& g);

} // namespace netc
