#include "ir/summary.h"

#include "ir/op_registry.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>

namespace netc {

std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

ModelSummary summarize(const Graph& g) {
  ModelSummary s;
  std::map<std::string, size_t> index;
  auto layer_of = [&](const Node& n) -> LayerSummary& {
    std::string name = n.attrs.get_str("layer", "(ops)");
    auto [it, inserted] = index.try_emplace(name, s.layers.size());
    if (inserted) s.layers.push_back(LayerSummary{name});
    return s.layers[it->second];
  };
  std::vector<TensorType> types;
  for (ValueId v = 0; v < g.size(); ++v) {
    const Node& n = g.node(v);
    int64_t elems = n.type.shape.static_elements();
    if (n.op == OpKind::Param) {
      LayerSummary& l = layer_of(n);
      l.params.push_back(v);
      bool frozen = n.attrs.get_int("frozen", 0) != 0;
      (frozen ? l.frozen : l.trainable) += elems;
      (frozen ? s.frozen : s.trainable) += elems;
    } else if (n.op == OpKind::State) {
      s.state += elems;
    } else if (op_def(n.op).shape) { // a computation, not a leaf
      types.clear();
      for (ValueId i : n.inputs) types.push_back(g.node(i).type);
      int64_t f = op_def(n.op).flops(n, types);
      // Free ops outside any layer (scalar bookkeeping) would only clutter the table.
      if (f == 0 && !n.attrs.has("layer")) continue;
      layer_of(n).flops += f;
      s.flops += f;
    }
  }
  return s;
}

std::string format_summary(const Graph& g, const ModelSummary& s) {
  std::string out = fmt::format("model {}", g.name);
  if (!g.source_file.empty()) out += fmt::format(" ({})", g.source_file);
  out += "\n\n";
  auto inputs = g.leaves(OpKind::Input);
  size_t width = 8;
  for (ValueId v : inputs) width = std::max(width, g.node(v).attrs.get_str("name").size() + 2);
  for (const auto& o : g.outputs) width = std::max(width, o.name.size() + 2);
  for (ValueId v : inputs) {
    const Node& n = g.node(v);
    std::string role = n.attrs.get_str("role", "data");
    std::string extra = n.attrs.has("num_classes")
                            ? fmt::format(", {} classes", n.attrs.get_int("num_classes"))
                            : "";
    out += fmt::format("{:<7}{:<{}}{}  ({}{})\n", role == "label" ? "label" : "input",
                       n.attrs.get_str("name"), width, to_string(n.type), role, extra);
  }
  for (const auto& o : g.outputs)
    out += fmt::format("{:<7}{:<{}}{}\n", "output", o.name, width, to_string(g.node(o.value).type));
  if (g.loss)
    out += fmt::format("{:<7}{:<{}}{}\n", "loss", g.loss->name, width,
                       to_string(g.node(g.loss->value).type));

  out += fmt::format("\n{:<16} {:>12} {:>14}  {}\n", "layer", "parameters", "FLOPs/example",
                     "parameter shapes");
  for (const auto& l : s.layers) {
    std::string shapes;
    for (ValueId p : l.params) {
      const Node& n = g.node(p);
      if (!shapes.empty()) shapes += ", ";
      shapes += fmt::format("{} {}", n.attrs.get_str("name"), to_string(n.type.shape));
      if (n.attrs.get_int("frozen", 0)) shapes += " frozen";
    }
    out += fmt::format("{:<16} {:>12} {:>14}  {}\n", l.name, with_thousands(l.trainable + l.frozen),
                       with_thousands(l.flops), shapes);
  }
  out += fmt::format("\n{} trainable parameters", with_thousands(s.trainable));
  if (s.frozen) out += fmt::format(", {} frozen", with_thousands(s.frozen));
  if (s.state) out += fmt::format(", {} state values", with_thousands(s.state));
  out += fmt::format("\n{} FLOPs per example (forward)\n", with_thousands(s.flops));
  return out;
}

} // namespace netc
