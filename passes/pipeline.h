// The compilation pipeline: the stages a model goes through after parsing,
// in order, for training or for inference. One runner drives every user of
// the pipeline (`netc dump`, `netc compile` through build_plan, `netc run`,
// `netc gradcheck`, the tests), so each pass runs once per compile and every
// stage is verified the same way.
#pragma once

#include "ir/graph.h"
#include "passes/fusion.h"
#include "passes/memplan.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netc {

struct Calibration; // passes/quantize.h

enum class Mode { train, infer };

// What the pipeline has built so far. The stages up to cleanup rewrite the
// graph; fusion and memplan plan its execution and leave it as it is, so
// their results sit beside it. The launch plan is not part of this state: it
// joins the training and inference runs (their shared persistent slots), so
// build_plan (passes/plan.h) makes it from the final states of both.
struct PipelineState {
  Graph graph;
  // Between autodiff and the optimizer: d loss / d param for every trainable
  // param. The optimizer consumes them; the dump after autodiff shows them as
  // outputs named d/PARAM.
  std::vector<NamedValue> grads;
  int64_t max_batch = 0;            // the batch the memory plan is made for
  std::optional<FusionPlan> fusion; // after fusion: the kernels
  std::optional<MemoryPlan> memory; // after memplan: their buffers
  // Keep every gradient as an output named d/PARAM of the training step
  // (PipelineOptions::gradient_outputs).
  bool gradient_outputs = false;
  // Inference: quantize the graph's matmuls to int8 with these activation
  // ranges (passes/quantize.h); null: stay f32.
  std::shared_ptr<const Calibration> quantize;
};

// A stage as the runner reports it, right after it ran and was verified.
struct StageView {
  std::string_view name;
  // False when the pass found nothing to do: the state is the previous
  // stage's, node for node.
  bool changed = true;
  const PipelineState& state;
  std::string (*print)(const PipelineState&); // the stage's text form
};

struct PipelineOptions {
  std::string last = "memplan"; // stop after this stage
  int64_t max_batch = 0;        // <= 0: default_max_batch(parsed)
  // Called after every stage (parse included), e.g. to dump it.
  std::function<void(const StageView&)> observe;
  // Training: every gradient stays an output d/PARAM of the step, so that it
  // is stored in a buffer of its own and no update fuses into the kernel that
  // computes it. Data-parallel training (`netc compile --mpi`) sums these
  // buffers over the ranks between the backward pass and the updates.
  bool gradient_outputs = false;
  // Inference only: the calibration of an int8 inference program; its
  // pipeline has a `quantize` stage after cleanup (passes/quantize.h).
  std::shared_ptr<const Calibration> quantize;
};

// The stage names of a mode, in pipeline order ("parse" first).
std::vector<std::string> pipeline_stages(Mode mode, bool quantized = false);

// Runs the pipeline on a parsed model up to and including `options.last`,
// verifying the IR after every stage. A stage the mode does not have is an
// internal error: the command line checks names against pipeline_stages().
PipelineState run_pipeline(Graph parsed, Mode mode, const PipelineOptions& options = {});

// The graph a stage shows: the state's graph, with pending gradients as
// outputs named d/PARAM.
Graph graph_with_grads(const PipelineState& state);

// The largest batch a memory plan is made for, unless the caller says: the
// model's training batch or 256 (batch inference), whichever is larger.
int64_t default_max_batch(const Graph& parsed);

// The pipeline up to cleanup: the optimized training step, or the inference graph.
Graph training_step(Graph parsed);
Graph inference_graph(Graph parsed);

} // namespace netc
