// The compilation pipeline: the stages a model goes through after parsing,
// in order. `netc dump --after STAGE` prints the IR after any of them.
#pragma once

#include "ir/graph.h"

#include <string>
#include <vector>

namespace netc {

struct StageResult {
  std::string name; // "parse", ...
  Graph graph;
};

// The stage names in pipeline order.
const std::vector<std::string>& pipeline_stages();

// Runs the pipeline on a parsed model, verifying the IR after every stage,
// and returns the graph after each stage up to and including `last`.
std::vector<StageResult> run_pipeline(Graph parsed, const std::string& last);

} // namespace netc
