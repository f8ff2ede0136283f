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
  std::string name;    // "parse", "specialize", ...
  Graph graph;         // the IR after the stage
  std::string listing; // for the stages past the IR (fusion, memplan): their own report
};

// The stage names of a mode, in pipeline order.
const std::vector<std::string>& pipeline_stages(Mode mode);

// Runs the pipeline on a parsed model, verifying the IR after every stage,
// and returns the graph after each stage up to and including `last`.
std::vector<StageResult> run_pipeline(Graph parsed, Mode mode, const std::string& last);

// The largest batch a memory plan is made for, unless the caller says: the
// model's training batch or 256 (batch inference), whichever is larger.
int64_t default_max_batch(const Graph& parsed);

// The whole pipeline: the optimized training step, or the inference graph.
Graph training_step(Graph parsed);
Graph inference_graph(Graph parsed);

} // namespace netc
