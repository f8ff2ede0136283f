// Syntax tree -> forward graph: declarations become leaves, layers expand
// into params and ops, and the train block becomes the graph's TrainConfig.
#pragma once

#include "frontend/ast.h"
#include "ir/graph.h"
#include "ir/tensor.h"

#include <map>
#include <string>

namespace netc {

// `default_name` names the model when it has no `model NAME` statement.
// Throws UserError at the first semantic error (undefined name, shape
// mismatch, invalid value...). The starting values of parameters that
// `import` statements brought go to `imported_weights` when given.
Graph build_graph(const Module& m, const std::string& file, const std::string& default_name,
                  std::map<std::string, Tensor<float>>* imported_weights = nullptr);

} // namespace netc
