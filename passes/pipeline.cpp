// The pipeline, as straight-line code that reads like a table of contents
// (STYLE.md #6). Each stage is verified; `run_pipeline` keeps every stage's
// graph for `netc dump`.
#include "passes/pipeline.h"

#include "ir/verifier.h"

#include "passes/autodiff.h"
#include "passes/cleanup.h"
#include "passes/fusion.h"
#include "passes/memplan.h"
#include "passes/optimizer.h"
#include "passes/specialize.h"
#include <algorithm>

namespace netc {

const std::vector<std::string>& pipeline_stages(Mode mode) {
  static const std::vector<std::string> train = {"parse",   "specialize", "autodiff", "optimizer",
                                                 "cleanup", "fusion",     "memplan"};
  static const std::vector<std::string> infer = {"parse", "specialize", "cleanup", "fusion",
                                                 "memplan"};
  return mode == Mode::train ? train : infer;
}

std::vector<StageResult> run_pipeline(Graph parsed, Mode mode, const std::string& last) {
  std::vector<StageResult> out;
  auto done = [&](const std::string& name, Graph g) {
    verify_or_throw(g, name);
    out.push_back({name, std::move(g)});
    return name == last;
  };
  if (done("parse", std::move(parsed))) return out;
  const Graph& forward = out.back().graph;

  int64_t max_batch = default_max_batch(forward);
  // Past the IR: kernels, then their buffers.
  auto lower = [&]() {
    const Graph& g = out.back().graph;
    FusionPlan fusion = fuse(g);
    out.push_back({"fusion", g, print_fusion(g, fusion)});
    if (last == "fusion") return;
    MemoryPlan mem = plan_memory(g, fusion, max_batch);
    out.push_back({"memplan", g, print_memory_plan(g, fusion, mem)});
  };

  if (mode == Mode::infer) {
    // Dropout disappears and batch norm folds into the layer before it.
    if (done("specialize", specialize_for_inference(forward).graph)) return out;
    if (done("cleanup", clean_up(out.back().graph).graph)) return out;
    lower();
    return out;
  }

  // Must run before autodiff: the gradients are those of the training-mode
  // ops (the dropout mask, batch statistics), and the running-statistics
  // updates join the step here.
  if (done("specialize", specialize_for_training(forward).graph)) return out;
  Differentiated d = differentiate(out.back().graph);
  // The dump after autodiff shows the gradients as outputs named d/PARAM.
  Graph with_grads = d.graph;
  for (const auto& gv : d.grads) with_grads.outputs.push_back({"d/" + gv.name, gv.value, gv.loc});
  if (done("autodiff", std::move(with_grads))) return out;
  if (done("optimizer", append_optimizer(d, d.graph.train))) return out;
  if (done("cleanup", clean_up(out.back().graph).graph)) return out;
  lower();
  return out;
}

int64_t default_max_batch(const Graph& parsed) {
  return std::max<int64_t>(parsed.train.batch, 256);
}

Graph training_step(Graph parsed) {
  return std::move(run_pipeline(std::move(parsed), Mode::train, "cleanup").back().graph);
}

Graph inference_graph(Graph parsed) {
  return std::move(run_pipeline(std::move(parsed), Mode::infer, "cleanup").back().graph);
}

} // namespace netc
