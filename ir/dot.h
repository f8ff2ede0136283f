// The IR as a Graphviz digraph (`netc dump --format dot`): one vertex per
// node, labelled "%N op [name]" over its type; edges run from an input to its
// user. Leaves are drawn by role: params as boxes (frozen ones grey), state
// as dashed boxes, inputs as ellipses, hypers, constants and the batch size as
// small notes. Each output and the loss get a marker vertex of their own.
#pragma once

#include "ir/graph.h"

#include <string>

namespace netc {

std::string print_dot(const Graph& g);

} // namespace netc
