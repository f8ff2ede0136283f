// `netc run MODEL forward`: the reference interpreter on random parameters and
// inputs, a debugging aid that shows what a model computes before it is
// compiled. Later issues add train, eval and predict.
#include "frontend/onnx/onnx_import.h"
#include "ir/init.h"
#include "ir/interpreter.h"
#include "ir/memory_check.h"
#include "passes/pipeline.h"
#include "tools/commands.h"
#include "tools/model_file.h"
#include "tools/reference_session.h"

#include "runtime/npy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>

namespace netc {

namespace {

// Rows of the last dimension, at most `max_rows` of them.
std::string format_tensor(const Tensor<double>& t, int max_rows = 8) {
  int64_t cols = t.rank() ? t.dim(t.rank() - 1) : 1;
  int64_t rows = cols ? t.size() / cols : 0;
  std::string out;
  for (int64_t r = 0; r < rows && r < max_rows; ++r) {
    out += "  ";
    for (int64_t c = 0; c < cols && c < 16; ++c) out += fmt::format(" {:>10.5g}", t[r * cols + c]);
    if (cols > 16) out += fmt::format("  ... ({} columns)", cols);
    out += "\n";
  }
  if (rows > max_rows) out += fmt::format("  ... ({} rows)\n", rows);
  return out;
}

} // namespace

std::map<std::string, double> parse_overrides(const std::vector<std::string>& set) {
  std::map<std::string, double> out;
  for (const std::string& s : set) {
    auto eq = s.find('=');
    char* end = nullptr;
    double v = eq == std::string::npos ? 0 : std::strtod(s.c_str() + eq + 1, &end);
    if (eq == std::string::npos || eq == 0 || end == s.c_str() + eq + 1 || *end != '\0')
      throw UserError("", {}, fmt::format("--set expects NAME=VALUE with a number, found '{}'", s));
    out[s.substr(0, eq)] = v;
  }
  return out;
}

namespace {

void check_overrides(const Graph& g, const std::map<std::string, double>& hypers) {
  std::vector<std::string> names;
  for (ValueId v : g.leaves(OpKind::Hyper)) names.push_back(g.node(v).attrs.get_str("name"));
  for (const auto& [name, value] : hypers)
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::string hint = closest_match(name, names);
      throw UserError("", {},
                      fmt::format("--set {}: the model has no runtime scalar '{}'{}", name, name,
                                  hint.empty() ? "" : "; did you mean '" + hint + "'?"));
    }
}

void export_values(const std::string& dir, const Values& values) {
  std::filesystem::create_directories(dir);
  for (const auto& [name, t] : values) write_npy(dir + "/" + name + ".npy", t.shape, t.data, true);
}

// The interpreter holds every tensor in double: a model larger than memory is
// refused at its model line instead of ending in std::bad_alloc.
SizeLimits interpreter_limits(int64_t batch) {
  return {.batch = batch, .bytes_per_element = 8, .memory_bytes = physical_memory_bytes()};
}

// `netc run MODEL train`: training steps on the reference interpreter, on
// random batches. It is the slow oracle for the compiled training step.
int run_train(const RunOptions& o) {
  Graph parsed = load_any_model(o.model);
  check_tensor_sizes(parsed, interpreter_limits(o.batch));
  PipelineState differentiated; // for --export-dir: the gradients at the first batch
  PipelineOptions stages{.last = "cleanup"};
  stages.observe = [&](const StageView& stage) {
    if (stage.name == "autodiff" && !o.export_dir.empty()) differentiated = stage.state;
  };
  Graph step = run_pipeline(parsed, Mode::train, stages).graph;
  std::map<std::string, double> hypers = parse_overrides(o.set);
  check_overrides(step, hypers);
  Values state = initial_values<double>(step, o.seed, o.batch);
  if (!o.export_dir.empty()) {
    export_values(o.export_dir + "/init", state);
    // The gradients at the first batch, from the differentiated forward graph.
    const PipelineState& d = differentiated;
    Values v = state;
    v.merge(random_batch(parsed, o.batch, o.seed, 0));
    RefContext<double> ctx;
    ctx.training = true;
    ctx.batch = o.batch;
    ctx.seed = o.seed;
    ctx.values = &v;
    ctx.hypers = hypers;
    std::vector<Tensor<double>> all = interpret(d.graph, ctx);
    Values grads;
    for (const auto& gv : d.grads) grads[gv.name] = all[static_cast<size_t>(gv.value)];
    export_values(o.export_dir + "/grads", grads);
  }
  std::string text =
      fmt::format("model {}: reference training, batch {}, seed {}\n", step.name, o.batch, o.seed);
  std::vector<double> losses;
  for (int64_t k = 0; k < o.steps; ++k) {
    Values batch = random_batch(parsed, o.batch, o.seed, static_cast<uint32_t>(k));
    if (!o.export_dir.empty()) export_values(fmt::format("{}/batch{}", o.export_dir, k), batch);
    Values values = state;
    values.merge(batch);
    double loss = reference_step(step, values, o.batch, o.seed, hypers);
    for (const auto& u : step.updates) state[u.name] = values[u.name];
    if (!std::isfinite(loss))
      throw UserError(o.model, {}, fmt::format("the loss is {} at step {}", loss, k + 1));
    losses.push_back(loss);
    text += fmt::format("step {:>5}  loss {:.9g}\n", k + 1, loss);
  }
  if (!o.export_dir.empty()) {
    export_values(o.export_dir + "/final", state);
    write_npy(o.export_dir + "/losses.npy", {static_cast<int64_t>(losses.size())}, losses, true);
  }
  std::fputs(text.c_str(), stdout);
  return 0;
}

} // namespace

int cmd_run(const RunOptions& o) {
  // An ONNX model brings its weights: without --random-init it runs on them.
  bool onnx = is_onnx_path(o.model);
  if (!o.random_init && !onnx)
    throw UserError(o.model, {},
                    "run needs --random-init: loading trained weights arrives with "
                    "checkpoints");
  if (o.action == "train") return run_train(o);
  ModelFile file = read_model_file(o.model);
  Graph g = run_pipeline(std::move(file.graph), Mode::infer, {.last = "parse"}).graph;
  check_tensor_sizes(g, interpreter_limits(o.batch));

  std::map<std::string, Tensor<double>> values = initial_values<double>(g, o.seed, o.batch);
  if (!o.random_init)
    for (const auto& [name, w] : file.weights) values[name] = tensor_cast<double>(w);
  values.merge(random_batch(g, o.batch, o.seed));
  RefContext<double> ctx;
  ctx.training = o.mode == "train";
  ctx.batch = o.batch;
  ctx.seed = o.seed;
  ctx.values = &values;
  ctx.hypers = parse_overrides(o.set);
  check_overrides(g, ctx.hypers);
  std::vector<Tensor<double>> result = interpret(g, ctx);

  std::string text =
      fmt::format("model {}: reference forward, batch {}, seed {}, {} mode{}\n", g.name, o.batch,
                  o.seed, o.mode, o.random_init || !onnx ? "" : ", the model's weights");
  for (const auto& out : g.outputs) {
    const Tensor<double>& t = result[static_cast<size_t>(out.value)];
    text += fmt::format("output {} {}\n{}", out.name, to_string(Shape(t.shape)), format_tensor(t));
  }
  if (g.loss) text += fmt::format("loss {}\n", result[static_cast<size_t>(g.loss->value)][0]);
  std::fputs(text.c_str(), stdout);
  return 0;
}

} // namespace netc
