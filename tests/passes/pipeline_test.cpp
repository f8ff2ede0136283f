// The pipeline runner: one table of stages per mode, each reported once, in
// order; "unchanged" only when the graph really is the previous stage's; the
// plans of build_plan are the runner's own.
#include "frontend/frontend.h"
#include "ir/printer.h"
#include "passes/pipeline.h"
#include "passes/plan.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace netc;

namespace {

const char* kExamples[] = {"fmnist_mlp", "fmnist_cnn", "multilabel",
                           "siamese",    "transfer",   "multitask"};

Graph example(const std::string& name) {
  return load_model(std::string(NETC_SOURCE_DIR) + "/examples/" + name + ".nn");
}

struct Seen {
  std::string name;
  bool changed;
  std::string text; // the stage's own text form
  std::string ir;   // the graph it holds (with pending gradients)
};

std::vector<Seen> run_observed(const Graph& parsed, Mode mode, const std::string& last) {
  std::vector<Seen> seen;
  PipelineOptions options{.last = last};
  options.observe = [&](const StageView& s) {
    seen.push_back(
        {std::string(s.name), s.changed, s.print(s.state), print_graph(graph_with_grads(s.state))});
  };
  run_pipeline(parsed, mode, options);
  return seen;
}

} // namespace

TEST_CASE("the runner reports every stage of a mode once, in the order pipeline_stages lists") {
  Graph parsed = example("fmnist_mlp");
  CHECK(pipeline_stages(Mode::train) == std::vector<std::string>{"parse", "specialize", "autodiff",
                                                                 "optimizer", "cleanup", "fusion",
                                                                 "memplan"});
  CHECK(pipeline_stages(Mode::infer) == std::vector<std::string>{"parse", "specialize", "cleanup",
                                                                 "prepack", "fusion", "layout",
                                                                 "memplan"});
  for (Mode mode : {Mode::train, Mode::infer}) {
    std::vector<std::string> names;
    for (const Seen& s : run_observed(parsed, mode, "memplan")) names.push_back(s.name);
    CHECK(names == pipeline_stages(mode));
  }
  // It stops after the stage asked for.
  std::vector<Seen> upto = run_observed(parsed, Mode::train, "autodiff");
  REQUIRE(upto.size() == 3);
  CHECK(upto.back().name == "autodiff");
  PipelineState s = run_pipeline(parsed, Mode::train, {.last = "cleanup"});
  CHECK_FALSE(s.fusion.has_value());
  CHECK_FALSE(s.memory.has_value());
}

TEST_CASE("a stage reported unchanged holds the previous stage's graph, node for node") {
  int unchanged = 0, changed = 0;
  for (const char* name : kExamples)
    for (Mode mode : {Mode::train, Mode::infer}) {
      CAPTURE(std::string(name));
      CAPTURE(mode == Mode::train);
      std::vector<Seen> seen = run_observed(example(name), mode, "memplan");
      CHECK(seen.front().changed); // parse is where the graph starts
      for (size_t i = 1; i < seen.size(); ++i) {
        CAPTURE(seen[i].name);
        if (seen[i].name == "fusion" || seen[i].name == "memplan") {
          CHECK(seen[i].changed); // each makes its plan
          CHECK(seen[i].ir == seen[i - 1].ir);
          continue;
        }
        if (seen[i].name == "layout") { // a plan stage that may find nothing to do
          CHECK(seen[i].ir == seen[i - 1].ir);
          continue;
        }
        if (seen[i].changed) {
          ++changed;
          CHECK(seen[i].ir != seen[i - 1].ir);
        } else {
          ++unchanged;
          CHECK(seen[i].ir == seen[i - 1].ir);
          CHECK(seen[i].text == seen[i - 1].text);
        }
      }
    }
  // Both kinds occur: the multilabel model has no dropout or batch norm, so
  // its specialization changes nothing; the mlp's changes a lot.
  CHECK(unchanged > 0);
  CHECK(changed > 0);
}

TEST_CASE("autodiff leaves the gradients beside the graph and the optimizer consumes them") {
  std::vector<std::string> dumped;
  PipelineOptions options{.last = "optimizer"};
  size_t grads_after_autodiff = 0;
  options.observe = [&](const StageView& s) {
    if (s.name == "autodiff") grads_after_autodiff = s.state.grads.size();
    dumped.push_back(s.print(s.state));
  };
  PipelineState s = run_pipeline(example("fmnist_mlp"), Mode::train, options);
  // dense1-3 W and b, bn1-2 gamma and beta.
  CHECK(grads_after_autodiff == 10);
  REQUIRE(dumped.size() == 4);
  CHECK(dumped[2].find("output \"d/dense1.W\" = ") != std::string::npos);
  CHECK(dumped[3].find("output \"d/") == std::string::npos);
  CHECK(s.grads.empty());
  CHECK_FALSE(s.graph.updates.empty());
}

TEST_CASE("build_plan's programs are the runner's: same kernels, same buffers") {
  Graph parsed = example("fmnist_cnn");
  PlanBundle bundle = build_plan(parsed, 32);
  for (Mode mode : {Mode::train, Mode::infer}) {
    CAPTURE(mode == Mode::train);
    PipelineState s = run_pipeline(parsed, mode, {.max_batch = 32});
    REQUIRE(s.fusion.has_value());
    REQUIRE(s.memory.has_value());
    const CompiledProgram& c = mode == Mode::train ? bundle.train : bundle.infer;
    CHECK(c.prefix == (mode == Mode::train ? "train" : "infer"));
    CHECK(print_graph(c.graph) == print_graph(s.graph));
    CHECK(print_fusion(c.graph, c.fusion) == print_fusion(s.graph, *s.fusion));
    CHECK(print_memory_plan(c.graph, c.fusion, c.memory) ==
          print_memory_plan(s.graph, *s.fusion, *s.memory));
  }
}

TEST_CASE("the memory plan is made for the batch the caller asks, the model's by default") {
  Graph parsed = example("fmnist_mlp");
  auto input_bytes = [&](int64_t max_batch) {
    PipelineState s = run_pipeline(parsed, Mode::infer, {.max_batch = max_batch});
    CHECK(s.max_batch == (max_batch > 0 ? max_batch : default_max_batch(parsed)));
    for (const PlannedBuffer& b : s.memory->buffers)
      if (s.graph.node(b.value).attrs.get_str("name", "") == "x") return b.bytes;
    FAIL("no buffer for the input x");
    return int64_t{0};
  };
  CHECK(input_bytes(8) == 8 * 784 * 4);
  CHECK(input_bytes(64) == 64 * 784 * 4);
  CHECK(input_bytes(0) == default_max_batch(parsed) * 784 * 4);
}
