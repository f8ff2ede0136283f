#include "passes/cleanup.h"

#include "ir/op_registry.h"
#include "passes/rewrite.h"

#include <cmath>
#include <map>
#include <tuple>

namespace netc {

PassResult eliminate_dead_code(const Graph& g) {
  std::vector<bool> live(static_cast<size_t>(g.size()), false);
  for (const auto& o : g.outputs) live[static_cast<size_t>(o.value)] = true;
  if (g.loss) live[static_cast<size_t>(g.loss->value)] = true;
  for (const auto& u : g.updates) live[static_cast<size_t>(u.value)] = true;
  // Inputs, params and state are the step's interface: they stay even when
  // unused, so every compiled step takes the same arguments.
  for (ValueId v = 0; v < g.size(); ++v) {
    OpKind k = g.node(v).op;
    if (k == OpKind::Input || k == OpKind::Param || k == OpKind::State) live[size_t(v)] = true;
  }
  for (ValueId v = g.size() - 1; v >= 0; --v)
    if (live[static_cast<size_t>(v)])
      for (ValueId i : g.node(v).inputs) live[static_cast<size_t>(i)] = true;

  PassResult r{Graph{}, false};
  r.graph.name = g.name;
  r.graph.source_file = g.source_file;
  r.graph.train = g.train;
  GraphBuilder b(r.graph);
  std::vector<ValueId> map(static_cast<size_t>(g.size()), -1);
  for (ValueId v = 0; v < g.size(); ++v) {
    if (!live[static_cast<size_t>(v)]) {
      r.changed = true;
      continue;
    }
    Node n = g.node(v);
    for (ValueId& i : n.inputs) i = map[static_cast<size_t>(i)];
    map[static_cast<size_t>(v)] = copy_node(b, n);
  }
  auto remap = [&](NamedValue nv) {
    nv.value = map[static_cast<size_t>(nv.value)];
    return nv;
  };
  for (const auto& o : g.outputs) r.graph.outputs.push_back(remap(o));
  if (g.loss) r.graph.loss = remap(*g.loss);
  for (const auto& u : g.updates) r.graph.updates.push_back(remap(u));
  return r;
}

PassResult eliminate_common_subexpressions(const Graph& g) {
  // The source location is not part of the key: the same value computed for
  // two lines is still one value (the first line is kept).
  using Key =
      std::tuple<OpKind, std::vector<ValueId>, std::vector<std::pair<std::string, AttrValue>>,
                 DType, std::vector<int64_t>>;
  std::map<Key, ValueId> seen;
  Rewritten r = rewrite(g, [&](GraphBuilder& b, const Node& n, ValueId) -> std::optional<ValueId> {
    Key key{n.op, n.inputs, n.attrs.items(), n.type.dtype, n.type.shape.dims};
    if (auto it = seen.find(key); it != seen.end()) return it->second;
    ValueId v = copy_node(b, n);
    seen.emplace(std::move(key), v);
    return v;
  });
  // `rewrite` reports a change for every replaced node; here only merges count.
  bool merged = r.graph.size() != g.size();
  return {std::move(r.graph), merged};
}

namespace {

std::optional<double> scalar_constant(const Graph& g, ValueId v) {
  const Node& n = g.node(v);
  if (n.op != OpKind::Constant) return std::nullopt;
  return n.attrs.get_float("value");
}

bool is_constant(const Graph& g, ValueId v, double value) {
  auto c = scalar_constant(g, v);
  return c && *c == value;
}

// One sweep of local rewrites; returns the replacement of `n`, if any.
std::optional<ValueId> simplify_node(GraphBuilder& b, const Node& n, ValueId) {
  const Graph& g = b.graph();
  auto same_type = [&](ValueId v) { return g.node(v).type == n.type; };
  switch (n.op) {
  case OpKind::Mul:
    if (is_constant(g, n.inputs[1], 1.0) && same_type(n.inputs[0])) return n.inputs[0];
    if (is_constant(g, n.inputs[0], 1.0) && same_type(n.inputs[1])) return n.inputs[1];
    break;
  case OpKind::Add:
    if (is_constant(g, n.inputs[1], 0.0) && same_type(n.inputs[0])) return n.inputs[0];
    if (is_constant(g, n.inputs[0], 0.0) && same_type(n.inputs[1])) return n.inputs[1];
    break;
  case OpKind::Sub:
  case OpKind::Div:
    if (is_constant(g, n.inputs[1], n.op == OpKind::Sub ? 0.0 : 1.0) && same_type(n.inputs[0]))
      return n.inputs[0];
    break;
  case OpKind::Neg:
    if (g.node(n.inputs[0]).op == OpKind::Neg) return g.node(n.inputs[0]).inputs[0];
    break;
  case OpKind::Reshape:
  case OpKind::Broadcast:
    if (same_type(n.inputs[0])) return n.inputs[0];
    if (n.op == OpKind::Reshape && g.node(n.inputs[0]).op == OpKind::Reshape)
      return b.op(OpKind::Reshape, {g.node(n.inputs[0]).inputs[0]}, n.attrs, n.loc);
    break;
  default: break; // the other ops have no local rewrite
  }
  // Fold arithmetic on scalar constants.
  if (n.type.shape.rank() == 0 && !n.inputs.empty()) {
    std::vector<double> c;
    for (ValueId i : n.inputs) {
      auto v = scalar_constant(g, i);
      if (!v) return std::nullopt;
      c.push_back(*v);
    }
    std::optional<double> folded;
    switch (n.op) {
    case OpKind::Add: folded = c[0] + c[1]; break;
    case OpKind::Sub: folded = c[0] - c[1]; break;
    case OpKind::Mul: folded = c[0] * c[1]; break;
    case OpKind::Div: folded = c[0] / c[1]; break;
    case OpKind::Neg: folded = -c[0]; break;
    default: break; // transcendental and other ops are left to run time
    }
    if (folded && std::isfinite(*folded)) return b.constant(*folded, n.loc, n.type.dtype);
  }
  return std::nullopt;
}

} // namespace

PassResult simplify(const Graph& g) {
  Rewritten r = rewrite(g, simplify_node);
  return {std::move(r.graph), r.changed};
}

PassResult clean_up(const Graph& g) {
  PassResult r{g, false};
  for (int round = 0; round < 20; ++round) { // fixpoint; 20 rounds is far more than needed
    bool changed = false;
    for (auto pass : {simplify, eliminate_common_subexpressions, eliminate_dead_code}) {
      PassResult next = pass(r.graph);
      changed = changed || next.changed;
      r.graph = std::move(next.graph);
    }
    r.changed = r.changed || changed;
    if (!changed) break;
  }
  return r;
}

} // namespace netc
