// The pipeline as data (STYLE.md #6, Glow's pipeline declared as a list):
// one table of steps per mode, each a name and a function, read top to bottom
// like a table of contents. The names `netc dump --after` accepts come from
// the same tables, so a stage cannot be run without being dumpable or listed
// without being run.
#include "passes/pipeline.h"

#include "ir/error.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"
#include "passes/cleanup.h"
#include "passes/layout.h"
#include "passes/optimizer.h"
#include "passes/prepack.h"
#include "passes/quantize.h"
#include "passes/specialize.h"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <span>
#include <string_view>

namespace netc {

namespace {

// What a step leaves behind: a new graph (verified by the runner) or a plan
// for the unchanged graph (fusion, memplan: their own listings).
enum class Produces { graph, plan };

struct Step {
  const char* name;
  bool (*run)(PipelineState&); // returns whether it changed anything
  Produces produces;
  std::string (*print)(const PipelineState&);
};

bool take(PipelineState& s, PassResult r) {
  s.graph = std::move(r.graph);
  return r.changed;
}

bool specialize_train(PipelineState& s) { return take(s, specialize_for_training(s.graph)); }
bool specialize_infer(PipelineState& s) { return take(s, specialize_for_inference(s.graph)); }

bool autodiff(PipelineState& s) {
  Differentiated d = differentiate(s.graph);
  s.graph = std::move(d.graph);
  s.grads = std::move(d.grads);
  return true;
}

bool optimizer(PipelineState& s) {
  Differentiated d{std::move(s.graph), std::move(s.grads)};
  s.grads.clear();
  s.graph = append_optimizer(d, d.graph.train);
  // append_optimizer only appends nodes: the gradients keep their ids.
  if (s.gradient_outputs)
    for (const NamedValue& gv : d.grads)
      s.graph.outputs.push_back({"d/" + gv.name, gv.value, gv.loc});
  return true;
}

bool cleanup(PipelineState& s) { return take(s, clean_up(s.graph)); }

bool quantize(PipelineState& s) { return take(s, quantize_int8(s.graph, *s.quantize)); }

bool prepack(PipelineState& s) { return take(s, prepack_conv_weights(s.graph)); }

// NETC_NO_FUSION=1 (any value but empty or 0) gives every stored value a
// kernel of its own (FusionOptions, passes/fusion.h) in every command that
// compiles (`netc compile`, `bench`, `dump --after fusion`): it tells a
// fusion bug from a lowering bug with the whole toolchain, launch plan and
// memory plan included. An environment variable, not a flag, so that no
// command line and no compiled binary's interface grows for a debugging aid.
bool fusion_disabled() {
  const char* v = std::getenv("NETC_NO_FUSION");
  return v && *v && std::string_view(v) != "0";
}

bool fusion(PipelineState& s) {
  s.fusion = fuse(s.graph, {.fuse = !fusion_disabled()});
  return true;
}

// NETC_NO_CHANNELS_LAST=1 keeps every value NCHW (passes/layout.h), like
// NETC_NO_FUSION: it tells a layout bug from a kernel bug, and gives the A/B
// of bench/RESULTS.md, with the same binary.
bool layout(PipelineState& s) {
  const char* off = std::getenv("NETC_NO_CHANNELS_LAST");
  if (off && *off && std::string_view(off) != "0") return false;
  *s.fusion = store_channels_last(s.graph, std::move(*s.fusion));
  return !s.fusion->channels_last.empty();
}
bool memplan(PipelineState& s) {
  s.memory = plan_memory(s.graph, *s.fusion, s.max_batch);
  return true;
}

std::string print_ir(const PipelineState& s) { return print_graph(graph_with_grads(s)); }
std::string print_kernels(const PipelineState& s) { return print_fusion(s.graph, *s.fusion); }
std::string print_buffers(const PipelineState& s) {
  return print_memory_plan(s.graph, *s.fusion, *s.memory);
}

// Fusion and memplan end both modes: kernels are chosen on the final graph,
// and buffers are planned for the kernels' inputs and outputs.
constexpr Step kFusion{"fusion", fusion, Produces::plan, print_kernels};
constexpr Step kMemplan{"memplan", memplan, Produces::plan, print_buffers};
// Inference: the values between convolution kernels stored channels-last.
constexpr Step kLayout{"layout", layout, Produces::plan, print_kernels};

constexpr Step kTrainSteps[] = {
    // Must run before autodiff: the gradients are those of the training-mode
    // ops (the dropout mask, batch statistics), and the running-statistics
    // updates join the step here.
    {"specialize", specialize_train, Produces::graph, print_ir},
    {"autodiff", autodiff, Produces::graph, print_ir},
    // Consumes the gradients: the update of every trainable param.
    {"optimizer", optimizer, Produces::graph, print_ir},
    // After the optimizer, so that one clean-up sees the whole step: gradient
    // rules re-create constants and forward values that CSE merges, and the
    // gradients nobody needs disappear.
    {"cleanup", cleanup, Produces::graph, print_ir},
    kFusion,
    kMemplan,
};

constexpr Step kInferSteps[] = {
    // Dropout disappears and batch norm folds into the layer before it.
    {"specialize", specialize_infer, Produces::graph, print_ir},
    // Each folded batch norm brings its own constants (eps), which CSE
    // shares; without dropout or batch norm there is nothing to do.
    {"cleanup", cleanup, Produces::graph, print_ir},
    // Last before fusion: the weights the conv kernels read, in their layout,
    // become prepare kernels (computed once per checkpoint).
    {"prepack", prepack, Produces::graph, print_ir},
    kFusion,
    kLayout,
    kMemplan,
};

// An int8 inference program (netc compile --quantize int8).
constexpr Step kInferInt8Steps[] = {
    {"specialize", specialize_infer, Produces::graph, print_ir},
    {"cleanup", cleanup, Produces::graph, print_ir},
    // After cleanup: the calibration ran on the cleaned-up graph (its value
    // ids), and batch norm is folded into the weights it quantizes.
    {"quantize", quantize, Produces::graph, print_ir},
    // (The convolutions that stay f32.)
    {"prepack", prepack, Produces::graph, print_ir},
    kFusion,
    kLayout,
    kMemplan,
};

std::span<const Step> steps_of(Mode mode, bool quantized) {
  if (mode == Mode::train) return kTrainSteps;
  return quantized ? std::span<const Step>(kInferInt8Steps) : std::span<const Step>(kInferSteps);
}

} // namespace

std::vector<std::string> pipeline_stages(Mode mode, bool quantized) {
  std::vector<std::string> names{"parse"};
  for (const Step& step : steps_of(mode, quantized)) names.emplace_back(step.name);
  return names;
}

PipelineState run_pipeline(Graph parsed, Mode mode, const PipelineOptions& options) {
  bool quantized = options.quantize != nullptr;
  if (quantized && mode == Mode::train) internal_error("a training step cannot be quantized");
  std::span<const Step> steps = steps_of(mode, quantized);
  std::vector<std::string> names = pipeline_stages(mode, quantized);
  if (std::find(names.begin(), names.end(), options.last) == names.end())
    internal_error(fmt::format("the {} pipeline has no stage '{}'",
                               mode == Mode::train ? "train" : "infer", options.last));
  PipelineState s;
  s.max_batch = options.max_batch > 0 ? options.max_batch : default_max_batch(parsed);
  s.gradient_outputs = options.gradient_outputs;
  s.quantize = options.quantize;
  s.graph = std::move(parsed);
  auto report = [&](std::string_view name, bool changed, auto print) {
    if (options.observe) options.observe(StageView{name, changed, s, print});
  };
  verify_or_throw(s.graph, "parse");
  report("parse", true, print_ir);
  if (options.last == "parse") return s;
  for (const Step& step : steps) {
    bool changed = step.run(s);
    // An unchanged graph is the previous stage's, already verified.
    if (changed && step.produces == Produces::graph)
      verify_or_throw(s.grads.empty() ? s.graph : graph_with_grads(s), step.name);
    report(step.name, changed, step.print);
    if (options.last == step.name) break;
  }
  return s;
}

Graph graph_with_grads(const PipelineState& s) {
  Graph g = s.graph;
  for (const NamedValue& gv : s.grads) g.outputs.push_back({"d/" + gv.name, gv.value, gv.loc});
  return g;
}

int64_t default_max_batch(const Graph& parsed) {
  return std::max<int64_t>(parsed.train.batch, 256);
}

Graph training_step(Graph parsed) {
  return run_pipeline(std::move(parsed), Mode::train, {.last = "cleanup"}).graph;
}

Graph inference_graph(Graph parsed) {
  return run_pipeline(std::move(parsed), Mode::infer, {.last = "cleanup"}).graph;
}

} // namespace netc
