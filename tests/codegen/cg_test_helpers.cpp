#include "cg_test_helpers.h"

#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <random>

namespace netc::cg_test {

namespace {

uint64_t name_seed(const std::string& name, int64_t batch) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h ^ static_cast<uint64_t>(batch) * 0x9e3779b97f4a7c15ULL;
}

Tensor<float> random_tensor(const std::vector<int64_t>& shape, const Fill& fill, uint64_t seed) {
  Tensor<float> t(shape);
  std::mt19937_64 rng(seed);
  if (fill.classes > 0) {
    std::uniform_int_distribution<int64_t> d(fill.first, fill.first + fill.classes - 1);
    for (auto& x : t.data) x = static_cast<float>(d(rng));
  } else {
    std::uniform_real_distribution<double> d(fill.lo, fill.hi);
    for (auto& x : t.data) x = static_cast<float>(d(rng));
  }
  if (fill.nan_every > 0)
    for (int64_t i = fill.nan_every / 2; i < t.size(); i += fill.nan_every)
      t[i] = std::numeric_limits<float>::quiet_NaN();
  return t;
}

bool has_batch(const Graph& g) {
  for (const Node& n : g.nodes)
    if (n.type.shape.has_batch()) return true;
  return false;
}

// Counts the elements outside the tolerance and reports the worst ones.
void compare(const Tensor<float>& got, const Tensor<float>& want, Tol tol,
             const std::string& what) {
  REQUIRE(got.shape == want.shape);
  int64_t bad = 0, worst = -1;
  double worst_excess = 0;
  for (int64_t i = 0; i < want.size(); ++i) {
    double g = got[i], w = want[i];
    if ((std::isnan(w) && std::isnan(g)) || g == w) continue; // g == w: equal infinities
    double err = std::abs(g - w), limit = tol.atol + tol.rtol * std::abs(w);
    if (!(err <= limit)) {
      ++bad;
      if (worst < 0 || err - limit > worst_excess) worst = i, worst_excess = err - limit;
    }
  }
  INFO(what);
  if (bad) {
    INFO(fmt::format("{} of {} elements off; worst at {}: got {} want {} (atol {} rtol {})", bad,
                     want.size(), worst, got[worst], want[worst], tol.atol, tol.rtol));
    CHECK(bad == 0);
  }
}

} // namespace

std::string check_kernel(const Graph& g, const KernelSpec& spec,
                         const std::map<std::string, Fill>& fills, Tol tol, const RunOptions& run) {
  codegen::JitKernel kernel(g, spec, run.kernel);
  std::vector<int64_t> batches = has_batch(g) ? run.batches : std::vector<int64_t>{1};
  for (int64_t batch : batches) {
    std::map<std::string, Tensor<float>> values;
    RefContext<float> ctx;
    ctx.training = run.kernel.training;
    ctx.batch = batch;
    ctx.seed = run.scalars.seed;
    ctx.step = run.scalars.step;
    ctx.hypers = run.hypers;
    for (const Node& n : g.nodes) {
      if (n.op != OpKind::Input && n.op != OpKind::Param && n.op != OpKind::State) continue;
      const std::string& name = n.attrs.get_str("name");
      auto it = fills.find(name);
      Fill fill = it != fills.end() ? it->second : Fill{};
      values[name] = random_tensor(n.type.shape.concrete(batch), fill, name_seed(name, batch));
    }
    ctx.values = &values;
    std::vector<Tensor<float>> want = interpret(g, ctx);
    std::vector<const Tensor<float>*> ins;
    for (ValueId v : spec.inputs) ins.push_back(&want[size_t(v)]);
    std::vector<Tensor<float>> got = kernel.run(batch, ins, run.scalars);
    for (size_t i = 0; i < spec.outputs.size(); ++i) {
      ValueId v = spec.outputs[i];
      compare(got[i], want[size_t(v)], tol,
              fmt::format("kernel '{}' ({}: {}), output %{} {}, batch {}", spec.name,
                          kernel_kind_name(kernel.kind()), kernel.schedule_notes(), v,
                          to_string(g.node(v).type), batch));
    }
  }
  return kernel.schedule_notes();
}

std::string check_op(OpKind kind, const std::vector<Operand>& operands, const Attrs& attrs, Tol tol,
                     const RunOptions& run) {
  Graph g;
  GraphBuilder b(g);
  std::map<std::string, Fill> fills;
  std::vector<ValueId> ins;
  for (size_t i = 0; i < operands.size(); ++i) {
    std::string name = fmt::format("in{}", i);
    Attrs a{{"name", name}};
    if (operands[i].leaf == OpKind::Hyper) a.set("value", operands[i].hyper_value);
    ins.push_back(b.leaf(operands[i].leaf, operands[i].type, a));
    fills[name] = operands[i].fill;
  }
  ValueId v = b.op(kind, ins, attrs);
  KernelSpec spec = codegen::single_op_kernel(g, v);
  INFO(fmt::format("{} {}", op_name(kind), spec.name));
  return check_kernel(g, spec, fills, tol, run);
}

} // namespace netc::cg_test
