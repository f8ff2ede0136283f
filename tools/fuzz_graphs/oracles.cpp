#include "tools/fuzz_graphs/oracles.h"

#include "ir/init.h"
#include "ir/interpreter.h"
#include "ir/op_traits.h"
#include "ir/printer.h"
#include "ir/text_parser.h"
#include "passes/pipeline.h"
#include "tools/fuzz_graphs/compiled_graph.h"

#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <random>
#include <set>

namespace netc::fuzz {

namespace {

template <class T>
using ValuesOf = std::map<std::string, Tensor<T>>;

// Every value rounded to f32 and held in double: the reference and the
// kernels then start from bit-identical inputs and weights, and what differs
// is the arithmetic alone.
ValuesOf<double> rounded(ValuesOf<double> values) {
  for (auto& [name, t] : values)
    for (double& x : t.data) x = double(float(x));
  return values;
}

template <class T>
ValuesOf<T> cast_values(const ValuesOf<double>& values) {
  ValuesOf<T> out;
  for (const auto& [name, t] : values) out.emplace(name, tensor_cast<T>(t));
  return out;
}

// One batch of inputs: data uniform in [-1, 1] (the generator keeps every op
// finite there), class indices uniform over their classes, float labels
// (multi-label and regression targets) uniform in [0, 1].
ValuesOf<double> make_batch(const Graph& g, int64_t batch, uint64_t seed, uint32_t draw) {
  ValuesOf<double> out;
  for (ValueId v : g.leaves(OpKind::Input)) {
    const Node& n = g.node(v);
    const std::string& name = n.attrs.get_str("name");
    std::mt19937_64 rng(seed * 1000003U + name_stream(name) + draw * 7919U);
    Tensor<double> t(n.type.shape.concrete(batch));
    int64_t classes = n.attrs.get_int("num_classes", 0);
    bool label = n.attrs.get_str("role", "data") == "label";
    for (double& x : t.data) {
      if (classes > 0)
        x = double(std::uniform_int_distribution<int64_t>(0, classes - 1)(rng));
      else if (label)
        x = std::uniform_real_distribution<double>(0, 1)(rng);
      else
        x = std::uniform_real_distribution<double>(-1, 1)(rng);
    }
    out.emplace(name, std::move(t));
  }
  return rounded(std::move(out));
}

// Every value times (1 + u 2^-22), u uniform in [-1, 1]: a few f32 ulps, as
// if the inputs had been rounded once more. How far the double reference
// moves under it measures the graph's condition at each value (see Checker).
// Integers stay: class indices and the step counter.
ValuesOf<double> perturbed(const Graph& g, ValuesOf<double> values, uint64_t seed) {
  std::set<std::string> exact = {"step"};
  for (const Node& n : g.nodes)
    if (n.op == OpKind::Input && (n.attrs.has("num_classes") || !is_float(n.type.dtype)))
      exact.insert(n.attrs.get_str("name"));
  std::mt19937_64 rng(seed ^ 0x5eedULL);
  std::uniform_real_distribution<double> u(-1, 1);
  for (auto& [name, t] : values) {
    if (exact.count(name)) continue;
    for (double& x : t.data) x *= 1 + std::ldexp(u(rng), -22);
  }
  return values;
}

// max |alt - want| over the elements where want is finite.
template <class T>
double spread(const Tensor<double>& want, const Tensor<T>& alt) {
  double out = 0;
  if (alt.shape != want.shape) return INFINITY;
  for (int64_t e = 0; e < want.size(); ++e)
    if (std::isfinite(want[e])) {
      double d = std::abs(double(alt[e]) - want[e]);
      out = std::max(out, std::isfinite(d) ? d : INFINITY);
    }
  return out;
}

template <class T>
std::vector<Tensor<T>> reference(const Graph& g, const ValuesOf<T>& values, bool training,
                                 int64_t batch, uint64_t seed, int64_t step) {
  RefContext<T> ctx;
  ctx.training = training;
  ctx.batch = batch;
  ctx.seed = seed;
  ctx.step = step;
  ctx.values = &values;
  return interpret(g, ctx);
}

bool is_leaf(const Graph& g, ValueId v) {
  FusionRole r = op_traits(g.node(v).op).role;
  return r == FusionRole::named_leaf || r == FusionRole::inline_leaf;
}

// The value's IR line, which names its op, attributes, type and model line.
std::string describe_value(const Graph& g, ValueId v) {
  return print_node(g, v, {.locations = true, .attributes = true, .train_config = false});
}

class Checker {
public:
  explicit Checker(std::vector<Finding>& findings) : findings_(findings) {}

  // The tolerance (docs/testing.md): the f32 kernels may differ from the
  // double reference by
  //   1e-4 * max|want| + 2e-5 + 30 * cond
  // where cond, the value's condition in this graph, is the larger of two
  // spreads: the reference interpreter run in f32 on the same data (how far
  // f32 rounding moves this value when the reference's own loops compute
  // it), and the double reference on inputs and weights perturbed by a few
  // ulps (how much this value amplifies any rounding upstream: large after a
  // batch norm of a near-constant column, a log near 0, a long sum; the f32
  // reference alone can be exact by luck where the kernels, which round in
  // other orders, are not). A value the reference computes finite must never
  // be NaN or Inf. The absolute 2e-5 covers values that are exactly 0 in
  // every reference but rounding noise in the kernels (log_softmax over an
  // axis of size 1 is 0 in double and ~1e-8 from Halide's exp and log): the
  // generated values are O(1) (inputs in [-1, 1], scaled initializers), so
  // 2e-5 hides no wrong op.
  void compare(const std::string& oracle, const std::string& what, const Tensor<float>& got,
               const Tensor<double>& want, double cond) {
    if (got.shape != want.shape) {
      add(oracle, fmt::format("{}: shape [{}] where the reference has [{}]", what,
                              fmt::join(got.shape, ","), fmt::join(want.shape, ",")));
      return;
    }
    double scale = 0;
    for (int64_t e = 0; e < want.size(); ++e)
      if (std::isfinite(want[e])) scale = std::max(scale, std::abs(want[e]));
    double tol = 1e-4 * scale + 2e-5 + 30 * cond;
    int64_t bad = 0, worst = -1;
    double worst_err = -1;
    for (int64_t e = 0; e < want.size(); ++e) {
      if (!std::isfinite(want[e])) continue;
      double err = std::isfinite(got[e]) ? std::abs(double(got[e]) - want[e]) : INFINITY;
      if (err > tol) {
        ++bad;
        if (err > worst_err) worst_err = err, worst = e;
      }
    }
    if (bad)
      add(oracle, fmt::format("{}: {} of {} elements off, worst [{}] got {} want {} (tolerance "
                              "{:.3g}, condition spread {:.3g})",
                              what, bad, want.size(), worst, got[worst], want[worst], tol, cond));
  }

  void add(const std::string& oracle, std::string detail) {
    // The first few per oracle: the earliest value is the informative one.
    if (++count_[oracle] <= 3) findings_.push_back({oracle, std::move(detail)});
  }

private:
  std::vector<Finding>& findings_;
  std::map<std::string, int> count_;
};

// print -> parse -> print gives the same text.
void check_round_trip(Checker& check, const Graph& g, const std::string& which) {
  std::string first = print_graph(g);
  std::string second;
  try {
    second = print_graph(parse_graph_text(first, g.name + ".ir"));
  } catch (const std::exception& e) {
    check.add("round-trip",
              fmt::format("{} graph: its text does not parse back: {}", which, e.what()));
    return;
  }
  if (first == second) return;
  size_t at = 0;
  while (at < first.size() && at < second.size() && first[at] == second[at]) ++at;
  size_t line = first.rfind('\n', at);
  line = line == std::string::npos ? 0 : line + 1;
  check.add("round-trip", fmt::format("{} graph: the text changes from the line '{}' to '{}'",
                                      which, first.substr(line, first.find('\n', at) - line),
                                      second.substr(line, second.find('\n', at) - line)));
}

struct Forward {
  Graph infer;
  ValuesOf<double> values;
  std::vector<Tensor<double>> want;
  std::vector<double> cond; // by ValueId
  CompiledGraph::LeafFn leaf;
};

// The condition spread of every value (Checker::compare).
std::vector<double> conditions(const std::vector<Tensor<double>>& want,
                               const std::vector<Tensor<float>>& want32,
                               const std::vector<Tensor<double>>& moved) {
  std::vector<double> out(want.size());
  for (size_t v = 0; v < want.size(); ++v)
    out[v] = std::max(spread(want[v], want32[v]), spread(want[v], moved[v]));
  return out;
}

// Every stored value of a compiled inference run against the reference.
void compare_all(Checker& check, const std::string& oracle, const Graph& g,
                 const std::vector<Tensor<float>>& got, const std::vector<Tensor<double>>& want,
                 const std::vector<double>& cond) {
  for (ValueId v = 0; v < g.size(); ++v)
    if (!got[size_t(v)].data.empty() && !is_leaf(g, v) && g.node(v).type.dtype == DType::f32)
      check.compare(oracle, describe_value(g, v), got[size_t(v)], want[size_t(v)], cond[size_t(v)]);
}

// Rows [from, from + count) of a batch-major tensor.
Tensor<float> rows(const Tensor<float>& t, int64_t batch, int64_t from, int64_t count) {
  int64_t per = t.size() / batch;
  Tensor<float> out = t;
  out.shape[0] = count;
  out.data.assign(t.data.begin() + from * per, t.data.begin() + (from + count) * per);
  return out;
}

bool batch_major(const Shape& s) {
  if (s.rank() == 0 || s[0] != kBatch) return false;
  for (int i = 1; i < s.rank(); ++i)
    if (s[i] == kBatch) return false;
  return true;
}

void check_forward(Checker& check, CaseReport& report, const Graph& parsed, const CaseOptions& o) {
  Forward f{inference_graph(parsed), {}, {}, {}, {}};
  f.values = rounded(initial_values<double>(parsed, o.seed, o.batch));
  f.values.merge(rounded(initial_values<double>(f.infer, o.seed, o.batch)));
  f.values.merge(make_batch(parsed, o.batch, o.seed, 0));
  // The train graph in inference mode against the optimized inference graph
  // (dropout removed, batch norm folded), both in double: only reassociation
  // separates them.
  std::vector<Tensor<double>> plain = reference(parsed, f.values, false, o.batch, o.seed, 0);
  f.want = reference(f.infer, f.values, false, o.batch, o.seed, 0);
  f.cond = conditions(
      f.want, reference(f.infer, cast_values<float>(f.values), false, o.batch, o.seed, 0),
      reference(f.infer, perturbed(f.infer, f.values, o.seed), false, o.batch, o.seed, 0));
  for (const NamedValue& out : parsed.outputs)
    for (const NamedValue& mine : f.infer.outputs)
      if (mine.name == out.name) {
        const Tensor<double>& a = plain[size_t(out.value)];
        const Tensor<double>& b = f.want[size_t(mine.value)];
        double scale = 0, err = 0;
        for (int64_t e = 0; e < a.size() && a.shape == b.shape; ++e)
          if (std::isfinite(a[e])) {
            scale = std::max(scale, std::abs(a[e]));
            err = std::max(err, std::isfinite(b[e]) ? std::abs(a[e] - b[e]) : INFINITY);
          }
        if (a.shape != b.shape || err > 1e-9 * (1 + scale))
          check.add("infer-graph", fmt::format("output {}: the inference graph differs from the "
                                               "model in inference mode by {:.3g} (scale {:.3g})",
                                               out.name, err, scale));
      }
  f.leaf = [&](ValueId v) { return tensor_cast<float>(f.want[size_t(v)]); };

  CompiledGraph fused(f.infer, fuse(f.infer), false);
  if (o.inject_fault) fused.inject_fault();
  report.kernels += fused.kernel_count();
  std::vector<Tensor<float>> got = fused.run(o.batch, f.leaf, {.seed = o.seed, .step = 0});
  compare_all(check, "forward", f.infer, got, f.want, f.cond);

  if (o.unfused_infer) {
    CompiledGraph unfused(f.infer, fuse(f.infer, {.fuse = false}), false);
    if (o.inject_fault) unfused.inject_fault();
    report.kernels += unfused.kernel_count();
    compare_all(check, "unfused-forward", f.infer,
                unfused.run(o.batch, f.leaf, {.seed = o.seed, .step = 0}), f.want, f.cond);
  }

  // A batch split in two halves computes the same rows: no op of an
  // inference graph mixes examples (the generator reduces no batch axis).
  if (o.batch >= 2) {
    int64_t first = (o.batch + 1) / 2;
    std::vector<std::vector<Tensor<float>>> halves;
    for (auto [from, count] : {std::pair{int64_t(0), first}, std::pair{first, o.batch - first}}) {
      auto leaf = [&, from = from, count = count](ValueId v) {
        Tensor<float> t = f.leaf(v);
        return batch_major(f.infer.node(v).type.shape) ? rows(t, o.batch, from, count) : t;
      };
      halves.push_back(fused.run(count, leaf, {.seed = o.seed, .step = 0}));
    }
    for (const NamedValue& out : f.infer.outputs) {
      if (!batch_major(f.infer.node(out.value).type.shape)) continue;
      Tensor<float> joined = halves[0][size_t(out.value)];
      const Tensor<float>& second = halves[1][size_t(out.value)];
      joined.shape[0] = o.batch;
      joined.data.insert(joined.data.end(), second.data.begin(), second.data.end());
      check.compare("batch-split", "output " + out.name + " (halves joined vs whole batch)", joined,
                    tensor_cast<double>(got[size_t(out.value)]), f.cond[size_t(out.value)]);
    }
  }
}

// `steps` training steps compiled and in the reference (double and f32):
// every stored value of the first step (forward, every gradient, the
// updates), the loss of each step, and every updated param and state after
// the last.
void check_training(Checker& check, CaseReport& report, const Graph& parsed, const CaseOptions& o,
                    const FusionOptions& fusion, int steps, const std::string& tag) {
  Graph step = training_step(parsed);
  if (!step.loss) return;
  ValuesOf<double> state = rounded(initial_values<double>(step, o.seed, o.batch));
  ValuesOf<float> state32 = cast_values<float>(state), compiled = state32;
  ValuesOf<double> moved = perturbed(step, state, o.seed); // the perturbed trajectory
  CompiledGraph cg(step, fuse(step, fusion), true);
  if (o.inject_fault) cg.inject_fault();
  report.kernels += cg.kernel_count();
  for (int k = 0; k < steps; ++k) {
    ValuesOf<double> batch = make_batch(step, o.batch, o.seed, uint32_t(k));
    ValuesOf<double> v64 = state;
    ValuesOf<float> v32 = state32;
    ValuesOf<double> vp = moved;
    for (const auto& [name, t] : batch) v64[name] = t, v32[name] = tensor_cast<float>(t);
    vp.merge(perturbed(step, batch, o.seed + uint64_t(k)));
    // The dropout generator's step is the step counter's value.
    auto counter = state.find("step");
    int64_t at = counter == state.end() ? 0 : int64_t(counter->second[0]);
    std::vector<Tensor<double>> want = reference(step, v64, true, o.batch, o.seed, at);
    std::vector<Tensor<float>> want32 = reference(step, v32, true, o.batch, o.seed, at);
    std::vector<Tensor<double>> wantp = reference(step, vp, true, o.batch, o.seed, at);
    std::vector<double> cond = conditions(want, want32, wantp);
    auto leaf = [&](ValueId v) {
      const Node& n = step.node(v);
      if (n.op == OpKind::Input) return tensor_cast<float>(batch.at(n.attrs.get_str("name")));
      if (n.op == OpKind::Param || n.op == OpKind::State)
        return compiled.at(n.attrs.get_str("name"));
      return tensor_cast<float>(want[size_t(v)]);
    };
    std::vector<Tensor<float>> got = cg.run(o.batch, leaf, {.seed = o.seed, .step = at});
    if (k == 0) compare_all(check, tag + "train-step", step, got, want, cond);
    ValueId loss = step.loss->value;
    check.compare(tag + "loss", fmt::format("loss at step {}", k + 1), got[size_t(loss)],
                  want[size_t(loss)], cond[size_t(loss)]);
    for (const NamedValue& u : step.updates) {
      state[u.name] = want[size_t(u.value)];
      state32[u.name] = want32[size_t(u.value)];
      moved[u.name] = wantp[size_t(u.value)];
      compiled[u.name] = got[size_t(u.value)];
    }
  }
  for (const NamedValue& u : step.updates)
    check.compare(tag + "params", fmt::format("{} after {} steps", u.name, steps),
                  compiled.at(u.name), state.at(u.name),
                  std::max(spread(state.at(u.name), state32.at(u.name)),
                           spread(state.at(u.name), moved.at(u.name))));
}

// Runs one oracle; an exception (a compiler crash, an internal error) is a finding too.
template <class F>
void guarded(Checker& check, const std::string& oracle, F&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    check.add(oracle, fmt::format("threw: {}", e.what()));
  }
}

} // namespace

CaseReport check_model(const Graph& parsed, const CaseOptions& options) {
  auto start = std::chrono::steady_clock::now();
  CaseReport report;
  Checker check(report.findings);
  guarded(check, "round-trip", [&] {
    check_round_trip(check, parsed, "parsed");
    check_round_trip(check, inference_graph(parsed), "inference");
    if (parsed.loss) check_round_trip(check, training_step(parsed), "training step");
  });
  guarded(check, "forward", [&] { check_forward(check, report, parsed, options); });
  if (parsed.loss && options.steps > 0)
    guarded(check, "train",
            [&] { check_training(check, report, parsed, options, {}, options.steps, ""); });
  if (parsed.loss && options.unfused_train)
    guarded(check, "unfused-train", [&] {
      check_training(check, report, parsed, options, {.fuse = false}, 1, "unfused-");
    });
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

} // namespace netc::fuzz
