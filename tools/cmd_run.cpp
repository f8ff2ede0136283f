// `netc run MODEL forward`: the reference interpreter on random parameters and
// inputs, a debugging aid that shows what a model computes before it is
// compiled. Later issues add train, eval and predict.
#include "frontend/frontend.h"
#include "ir/init.h"
#include "ir/interpreter.h"
#include "passes/pipeline.h"
#include "tools/commands.h"

#include <cstdio>
#include <fmt/format.h>

namespace netc {

namespace {

// Random values for every Input leaf: normal data, labels drawn uniformly
// from their classes (or 0/1 targets for float labels).
std::map<std::string, Tensor<double>> random_inputs(const Graph& g, int64_t batch, uint64_t seed) {
  std::map<std::string, Tensor<double>> values;
  for (ValueId v : g.leaves(OpKind::Input)) {
    const Node& n = g.node(v);
    const std::string& name = n.attrs.get_str("name");
    Tensor<double> t(n.type.shape.concrete(batch));
    uint32_t stream = name_stream(name);
    for (int64_t i = 0; i < t.size(); ++i) {
      auto e = static_cast<uint32_t>(i);
      if (n.attrs.has("num_classes"))
        t[i] = static_cast<double>(hash32(seed, stream, 3, e) %
                                   static_cast<uint32_t>(n.attrs.get_int("num_classes")));
      else if (n.attrs.get_str("role", "data") == "label")
        t[i] = uniform01(seed, stream, 3, e) < 0.5f ? 0.0 : 1.0;
      else
        t[i] = counter_normal(seed, stream, e);
    }
    values.emplace(name, std::move(t));
  }
  return values;
}

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

int cmd_run(const RunOptions& o) {
  if (!o.random_init)
    throw UserError(o.model, {}, "run forward needs --random-init: this build has no trained "
                                 "weights to load");
  auto stages = run_pipeline(load_model(o.model), "parse");
  const Graph& g = stages.back().graph;

  std::map<std::string, Tensor<double>> values = initial_values<double>(g, o.seed, o.batch);
  values.merge(random_inputs(g, o.batch, o.seed));
  RefContext<double> ctx;
  ctx.training = o.mode == "train";
  ctx.batch = o.batch;
  ctx.seed = o.seed;
  ctx.values = &values;
  std::vector<Tensor<double>> result = interpret(g, ctx);

  std::string text = fmt::format("model {}: reference forward, batch {}, seed {}, {} mode\n",
                                 g.name, o.batch, o.seed, o.mode);
  for (const auto& out : g.outputs) {
    const Tensor<double>& t = result[static_cast<size_t>(out.value)];
    text += fmt::format("output {} {}\n{}", out.name, to_string(Shape(t.shape)), format_tensor(t));
  }
  if (g.loss)
    text += fmt::format("loss {}\n", result[static_cast<size_t>(g.loss->value)][0]);
  std::fputs(text.c_str(), stdout);
  return 0;
}

} // namespace netc
