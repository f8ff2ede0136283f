// Syntax tree -> forward graph: declarations become leaves, layers expand
// into params and ops, and the train block becomes the graph's TrainConfig.
#pragma once

#include "frontend/ast.h"
#include "ir/graph.h"

#include <string>

namespace netc {

// `default_name` names the model when it has no `model NAME` statement.
// Throws UserError at the first semantic error (undefined name, shape
// mismatch, invalid value...).
Graph build_graph(const Module& m, const std::string& file, const std::string& default_name);

} // namespace netc
