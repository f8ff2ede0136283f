// `netc gradcheck`: symbolic gradients against two-sided differences in
// double precision on the reference interpreter (SPEC section 4):
//   d_approx[i] = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps)
//   error = ||d_approx - d|| / (||d_approx|| + ||d||)   per parameter
// with dropout off (every keep probability 1), the regularization terms
// included, and batch norm on batch statistics, as in training.
#include "ir/init.h"
#include "ir/interpreter.h"
#include "passes/pipeline.h"
#include "tools/commands.h"
#include "tools/model_file.h"
#include "tools/reference_session.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <set>

namespace netc {

namespace {

struct Entry {
  int64_t index;
  double numeric, symbolic;
};

// Which entries of a parameter to check: all of them, or `samples` distinct
// ones (a full check of a 400k-weight layer would take hours on the reference
// interpreter): half the entries with the largest symbolic gradient, so that
// sparse gradients (behind relus and pooling) are really exercised, and half
// drawn at random from the seed.
std::vector<int64_t> pick_entries(const Tensor<long double>& grad, int64_t samples, uint64_t seed,
                                  const std::string& name) {
  int64_t size = grad.size();
  std::vector<int64_t> out;
  if (size <= samples) {
    for (int64_t i = 0; i < size; ++i) out.push_back(i);
    return out;
  }
  std::vector<int64_t> order(static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i) order[static_cast<size_t>(i)] = i;
  std::partial_sort(order.begin(), order.begin() + samples / 2, order.end(),
                    [&](int64_t a, int64_t b) { return std::abs(grad[a]) > std::abs(grad[b]); });
  std::set<int64_t> chosen(order.begin(), order.begin() + samples / 2);
  for (uint32_t k = 0; static_cast<int64_t>(chosen.size()) < samples; ++k)
    chosen.insert(static_cast<int64_t>(hash32(seed, name_stream(name), 4, k) % uint64_t(size)));
  return {chosen.begin(), chosen.end()};
}

std::string verdict(double e) {
  if (e < 1e-7) return "good";
  if (e <= 1e-5) return "ok";
  if (e <= 1e-3) return "suspicious";
  return "likely a bug";
}

} // namespace

int cmd_gradcheck(const GradcheckOptions& o) {
  Graph parsed = load_any_model(o.model);
  // One run of the pipeline gives the specialized forward graph (whose loss
  // the differences evaluate), its gradients and, when training steps come
  // first, the training step.
  Graph forward;
  PipelineState d; // after autodiff: the forward graph's gradients
  PipelineOptions stages{.last = o.after_steps > 0 ? "cleanup" : "autodiff"};
  stages.observe = [&](const StageView& stage) {
    if (stage.name == "specialize") forward = stage.state.graph;
    if (stage.name == "autodiff") d = stage.state;
  };
  Graph step = run_pipeline(parsed, Mode::train, stages).graph;
  std::map<std::string, double> hypers;
  for (ValueId v : forward.leaves(OpKind::Hyper)) {
    const std::string& name = forward.node(v).attrs.get_str("name");
    if (name.ends_with(".keep")) hypers[name] = 1.0; // dropout off
  }
  Values state = initial_values<double>(forward, o.seed, o.batch);
  std::string text;
  if (o.after_steps > 0) {
    Values s = initial_values<double>(step, o.seed, o.batch);
    for (int64_t k = 0; k < o.after_steps; ++k) {
      Values values = s;
      values.merge(random_batch(parsed, o.batch, o.seed, static_cast<uint32_t>(k + 1)));
      reference_step(step, values, o.batch, o.seed, hypers);
      for (const auto& u : step.updates) s[u.name] = values[u.name];
    }
    for (auto& [name, t] : state) t = s.at(name);
    text += fmt::format("after {} training steps\n", o.after_steps);
  }
  Values start = state;
  start.merge(random_batch(parsed, o.batch, o.seed, 0));
  // In long double (64-bit mantissa): a difference quotient divides the
  // loss's rounding error by 2 eps, and in double that noise (~1e-8 relative
  // at eps 1e-7) is above the 1e-7 tolerance on deeper networks.
  std::map<std::string, Tensor<long double>> values;
  for (const auto& [name, t] : start) values.emplace(name, tensor_cast<long double>(t));

  RefContext<long double> ctx;
  ctx.training = true;
  ctx.batch = o.batch;
  ctx.seed = o.seed;
  ctx.values = &values;
  ctx.hypers = hypers;
  std::vector<Tensor<long double>> all = interpret(d.graph, ctx);
  auto loss = [&] {
    return static_cast<double>(
        interpret(forward, ctx)[static_cast<size_t>(forward.loss->value)][0]);
  };
  // The rounding noise of one difference quotient: J carries about 1e-18
  // relative error in long double, divided by 2 eps. A parameter whose true gradient is zero
  // (a bias right before batch norm, whose mean the normalization removes)
  // has only this noise on the numeric side, and no relative error is
  // meaningful for it; it passes as "zero" when both sides are at noise level.
  double noise = 1e-18 * std::max(1.0, std::abs(loss())) / (2 * o.eps);

  text += fmt::format("gradient check of {}: batch {}, eps {:g}, tolerance {:g}, seed {}\n\n",
                      forward.name, o.batch, o.eps, o.tol, o.seed);
  text += fmt::format("{:<28} {:>14} {:>9} {:>12}  {}\n", "parameter", "shape", "checked",
                      "rel. error", "verdict");
  int failures = 0;
  double largest_gradient = 0;
  std::string details;
  for (const NamedValue& gv : d.grads) {
    const Tensor<long double>& sym = all[static_cast<size_t>(gv.value)];
    Tensor<long double>& p = values.at(gv.name);
    std::vector<Entry> entries;
    for (int64_t i : pick_entries(sym, o.samples, o.seed, gv.name)) {
      long double keep = p[i];
      p[i] = keep + static_cast<long double>(o.eps);
      long double up = interpret(forward, ctx)[static_cast<size_t>(forward.loss->value)][0];
      p[i] = keep - static_cast<long double>(o.eps);
      long double down = interpret(forward, ctx)[static_cast<size_t>(forward.loss->value)][0];
      p[i] = keep;
      entries.push_back({i,
                         static_cast<double>((up - down) / (2 * static_cast<long double>(o.eps))),
                         static_cast<double>(sym[i])});
    }
    double diff2 = 0, num2 = 0, sym2 = 0;
    for (const Entry& e : entries) {
      diff2 += (e.numeric - e.symbolic) * (e.numeric - e.symbolic);
      num2 += e.numeric * e.numeric;
      sym2 += e.symbolic * e.symbolic;
      largest_gradient = std::max(largest_gradient, std::abs(e.symbolic));
    }
    double denom = std::sqrt(num2) + std::sqrt(sym2);
    double err = denom == 0 ? 0 : std::sqrt(diff2) / denom;
    double floor = 10 * noise * std::sqrt(static_cast<double>(entries.size()));
    bool zero = std::sqrt(num2) <= floor && std::sqrt(sym2) <= floor;
    bool failed = !zero && !(err <= o.tol);
    failures += failed;
    std::string what = zero     ? "zero gradient (both sides at rounding level)"
                       : failed ? verdict(err) + ", FAILED"
                                : verdict(err);
    std::string shown = zero ? "-" : fmt::format("{:.3e}", err);
    text += fmt::format("{:<28} {:>14} {:>9} {:>12}  {}\n", gv.name, to_string(Shape(p.shape)),
                        entries.size(), shown, what);
    if (failed) {
      std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return std::abs(a.numeric - a.symbolic) > std::abs(b.numeric - b.symbolic);
      });
      details += fmt::format("\nworst entries of {} (flat index: numeric vs symbolic)\n", gv.name);
      for (size_t k = 0; k < entries.size() && k < 5; ++k)
        details += fmt::format("  [{}]  {: .9e}  {: .9e}\n", entries[k].index, entries[k].numeric,
                               entries[k].symbolic);
    }
  }
  if (largest_gradient == 0 && !d.grads.empty()) {
    text += "\nevery gradient is zero: the check proves nothing\n";
    failures += 1;
  }
  text += details;
  text += failures ? fmt::format("\n{} of {} parameters FAILED\n", failures, d.grads.size())
                   : fmt::format("\nall {} parameters pass\n", d.grads.size());
  std::fputs(text.c_str(), stdout);
  return failures ? 1 : 0;
}

} // namespace netc
