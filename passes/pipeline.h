// The compilation pipeline: the stages a model goes through after parsing,
// in order, for training or for inference. `netc dump --after STAGE` prints
// the IR after any of them.
#pragma once

#include "ir/graph.h"

#include <string>
#include <vector>

namespace netc {

enum class Mode { train, infer };

struct StageResult {
  std::string name; // "parse", "specialize", ...
  Graph graph;
};

// The stage names of a mode, in pipeline order.
const std::vector<std::string>& pipeline_stages(Mode mode);

// Runs the pipeline on a parsed model, verifying the IR after every stage,
// and returns the graph after each stage up to and including `last`.
std::vector<StageResult> run_pipeline(Graph parsed, Mode mode, const std::string& last);

// The whole pipeline: the optimized training step, or the inference graph.
Graph training_step(Graph parsed);
Graph inference_graph(Graph parsed);

} // namespace netc
