// From a parsed model to everything `netc compile`, `netc bench` and the
// runtime need: the optimized training step and inference graphs, their
// kernels and memory plans, and the launch plan that ties kernels to buffers.
#pragma once

#include "ir/tensor.h"
#include "passes/fusion.h"
#include "passes/memplan.h"
#include "passes/pipeline.h"
#include "plan/launch_plan.h"

#include <map>
#include <memory>

#include <span>

namespace netc {

struct CompiledProgram {
  std::string prefix; // "train" or "infer": kernel names start with it
  Graph graph;
  FusionPlan fusion;
  MemoryPlan memory;
};

struct PlanBundle {
  rt::Plan plan;
  CompiledProgram train;
  CompiledProgram infer;
};

// The program a pipeline run through memplan leaves: its graph, kernels and buffers.
CompiledProgram compiled_program(Mode mode, PipelineState finished);

// Runs the pipeline of both modes once each, through memplan, and joins them
// in one launch plan. max_batch <= 0: the default (passes/pipeline.h). A model
// without a loss has no training program (its train.kernels stay empty).
// gradient_outputs: PipelineOptions::gradient_outputs, for data-parallel training.
// `start_values`: params and state that start from given values (an imported
// ONNX network's weights) rather than their initializers.
// `quantize`: the inference program is int8 (passes/quantize.h) with these
// activation ranges; the training program stays f32, so that the model's
// checkpoints load unchanged.
PlanBundle build_plan(const Graph& parsed, int64_t max_batch = 0, bool gradient_outputs = false,
                      const std::map<std::string, Tensor<float>>& start_values = {},
                      std::shared_ptr<const Calibration> quantize = nullptr);

// FLOPs of one call of a kernel computing `nodes`: fixed + per_example * batch
// (each node's FLOPs rule, per example when it touches the batch dimension).
std::pair<int64_t, int64_t> kernel_flops(const Graph& g, std::span<const ValueId> nodes);

} // namespace netc
