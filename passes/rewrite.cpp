#include "passes/rewrite.h"

#include "ir/op_registry.h"

namespace netc {

ValueId copy_node(GraphBuilder& b, const Node& node) {
  if (!op_def(node.op).shape) return b.leaf(node.op, node.type, node.attrs, node.loc);
  return b.op(node.op, node.inputs, node.attrs, node.loc);
}

std::vector<bool> data_dependent(const Graph& g) {
  std::vector<bool> dep(static_cast<size_t>(g.size()), false);
  for (ValueId v = 0; v < g.size(); ++v) {
    const Node& n = g.node(v);
    bool d = n.op == OpKind::Input || n.op == OpKind::BatchSize;
    for (ValueId i : n.inputs) d = d || dep[size_t(i)];
    dep[size_t(v)] = d;
  }
  return dep;
}

Rewritten rewrite(const Graph& g, const RewriteFn& fn) {
  Rewritten r;
  r.graph.name = g.name;
  r.graph.source_file = g.source_file;
  r.graph.train = g.train;
  GraphBuilder b(r.graph);
  r.map.resize(static_cast<size_t>(g.size()));
  for (ValueId v = 0; v < g.size(); ++v) {
    Node node = g.node(v);
    for (ValueId& i : node.inputs) i = r.map[static_cast<size_t>(i)];
    std::optional<ValueId> replaced = fn(b, node, v);
    if (replaced) {
      r.changed = true;
      r.map[static_cast<size_t>(v)] = *replaced;
    } else {
      r.map[static_cast<size_t>(v)] = copy_node(b, node);
    }
  }
  auto remap = [&](NamedValue nv) {
    nv.value = r.map[static_cast<size_t>(nv.value)];
    return nv;
  };
  for (const auto& o : g.outputs) r.graph.outputs.push_back(remap(o));
  if (g.loss) r.graph.loss = remap(*g.loss);
  for (const auto& u : g.updates) r.graph.updates.push_back(remap(u));
  return r;
}

} // namespace netc
