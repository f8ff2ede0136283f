#include "ir/interpreter.h"

#include "ir/init.h"

#include <fmt/format.h>

namespace netc {

template <class T>
std::vector<Tensor<T>> interpret(const Graph& g, RefContext<T>& ctx) {
  std::vector<Tensor<T>> values(static_cast<size_t>(g.size()));
  std::vector<const Tensor<T>*> ins;
  for (ValueId v = 0; v < g.size(); ++v) {
    const Node& n = g.node(v);
    ins.clear();
    for (ValueId i : n.inputs) ins.push_back(&values[static_cast<size_t>(i)]);
    Tensor<T>& out = values[static_cast<size_t>(v)];
    out = Tensor<T>(n.type.shape.concrete(ctx.batch));
    try {
      reference_of<T>(n.op)(n, ins, out, ctx);
    } catch (const ShapeError& e) {
      g.fail(v, fmt::format("{}: {}", op_name(n.op), e.what()));
    }
  }
  return values;
}

template <class T>
std::map<std::string, Tensor<T>> initial_values(const Graph& g, uint64_t seed, int64_t batch) {
  std::map<std::string, Tensor<T>> out;
  for (ValueId v = 0; v < g.size(); ++v) {
    const Node& n = g.node(v);
    if (n.op != OpKind::Param && n.op != OpKind::State) continue;
    const std::string& name = n.attrs.get_str("name");
    Tensor<T> t(n.type.shape.concrete(batch));
    std::string scheme = n.attrs.get_str("init", "zeros");
    if (!initialize<T>(t.data, scheme, n.attrs.get_int("fan_in", 1), n.attrs.get_int("fan_out", 1),
                       n.attrs.get_float("scale", 0.0), seed, name))
      g.fail(v, fmt::format("unknown initializer '{}' for '{}'", scheme, name));
    out.emplace(name, std::move(t));
  }
  return out;
}

template std::vector<Tensor<float>> interpret(const Graph&, RefContext<float>&);
template std::vector<Tensor<double>> interpret(const Graph&, RefContext<double>&);
template std::map<std::string, Tensor<float>> initial_values(const Graph&, uint64_t, int64_t);
template std::map<std::string, Tensor<double>> initial_values(const Graph&, uint64_t, int64_t);
template std::vector<Tensor<long double>> interpret(const Graph&, RefContext<long double>&);

} // namespace netc
