#include "tools/reference_session.h"

#include "ir/init.h"
#include "ir/interpreter.h"

namespace netc {

Values random_batch(const Graph& g, int64_t batch, uint64_t seed, uint32_t draw) {
  Values values;
  for (ValueId v : g.leaves(OpKind::Input)) {
    const Node& n = g.node(v);
    const std::string& name = n.attrs.get_str("name");
    Tensor<double> t(n.type.shape.concrete(batch));
    uint32_t stream = name_stream(name) ^ (draw * 0x9e3779b9U);
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

double reference_step(const Graph& step, Values& values, int64_t batch, uint64_t seed,
                      const std::map<std::string, double>& hypers) {
  RefContext<double> ctx;
  ctx.training = true;
  ctx.batch = batch;
  ctx.seed = seed;
  ctx.values = &values;
  ctx.hypers = hypers;
  // The dropout generator's step is the step counter's value (steps done).
  if (auto it = values.find("step"); it != values.end())
    ctx.step = static_cast<int64_t>(it->second[0]);
  std::vector<Tensor<double>> result = interpret(step, ctx);
  for (const NamedValue& u : step.updates)
    values[u.name] = std::move(result[static_cast<size_t>(u.value)]);
  return step.loss ? result[static_cast<size_t>(step.loss->value)][0] : 0.0;
}

} // namespace netc
