// The IR verifier: the invariants every stage's output must keep (STYLE.md
// #12, verify after every pass). GraphBuilder checks a node as it is added;
// the verifier checks a whole graph, including ones a pass assembled by
// editing `nodes` directly, and the graph-level rules no single node sees
// (unique names, valid outputs and loss).
#pragma once

#include "ir/graph.h"

#include <string>
#include <string_view>
#include <vector>

namespace netc {

// Every problem found, one line each ("%3 (matmul): ..."); empty when valid.
//   - inputs name earlier nodes; the input count is within the op's arity
//   - an op's type equals its shape rule's result for its input types
//   - an op that reads class labels agrees with their declared class count
//   - input, param, state and hyper leaves carry a non-empty string `name`;
//     constants carry a numeric `value`
//   - leaf names are unique per kind, and across params and state together
//   - outputs and the loss name valid values; output names are unique;
//     the loss is a float scalar
std::vector<std::string> verify(const Graph& g);

// Throws an internal error listing the problems and the stage that produced
// the graph: a pass that breaks the IR is a compiler bug, not a user error.
void verify_or_throw(const Graph& g, std::string_view after_stage);

} // namespace netc
