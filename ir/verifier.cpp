#include "ir/verifier.h"

#include "ir/class_labels.h"
#include "ir/op_registry.h"

#include <fmt/format.h>
#include <map>
#include <set>

namespace netc {

namespace {

// A corrupted OpKind must not index past the op table.
bool known_op(OpKind k) { return static_cast<int>(k) >= 0 && static_cast<int>(k) < kNumOps; }

std::string where(const Graph& g, ValueId v) {
  OpKind k = g.node(v).op;
  return fmt::format("%{} ({})", v, known_op(k) ? op_name(k) : std::string_view("?"));
}

std::string arity_text(const OpDef& def) {
  if (def.max_inputs < 0) return fmt::format("at least {}", def.min_inputs);
  if (def.min_inputs == def.max_inputs) return fmt::format("{}", def.min_inputs);
  return fmt::format("{} to {}", def.min_inputs, def.max_inputs);
}

// Inputs, arity and type of one node. The shape rule only runs when every
// input is valid, so one broken edge gives one message, not a cascade.
void check_node(const Graph& g, ValueId v, std::vector<std::string>& problems) {
  const Node& n = g.node(v);
  if (!known_op(n.op)) {
    problems.push_back(
        fmt::format("{}: op kind {} is not in ops.def", where(g, v), static_cast<int>(n.op)));
    return;
  }
  const OpDef& def = op_def(n.op);
  bool inputs_ok = true;
  for (ValueId in : n.inputs) {
    if (in < 0 || in >= v) {
      problems.push_back(fmt::format("{}: input %{} is not an earlier node", where(g, v), in));
      inputs_ok = false;
    }
  }
  int count = static_cast<int>(n.inputs.size());
  if (count < def.min_inputs || (def.max_inputs >= 0 && count > def.max_inputs)) {
    problems.push_back(fmt::format("{}: expects {} input{}, has {}", where(g, v), arity_text(def),
                                   arity_text(def) == "1" ? "" : "s", count));
    inputs_ok = false;
  }
  if (!def.shape || !inputs_ok) return;
  std::vector<TensorType> types;
  for (ValueId in : n.inputs) types.push_back(g.node(in).type);
  try {
    TensorType expected = def.shape(n.attrs, types);
    if (expected != n.type)
      problems.push_back(fmt::format("{}: type is {}, its shape rule gives {}", where(g, v),
                                     to_string(n.type), to_string(expected)));
  } catch (const ShapeError& e) {
    problems.push_back(fmt::format("{}: shape rule fails: {}", where(g, v), e.what()));
    return;
  }
  if (auto mismatch = class_count_mismatch(g, n.op, n.inputs, n.attrs))
    problems.push_back(fmt::format("{}: {}", where(g, v), *mismatch));
}

bool is_named_leaf(OpKind k) {
  return k == OpKind::Input || k == OpKind::Param || k == OpKind::State || k == OpKind::Hyper;
}

// Leaf attributes and name uniqueness. Params and state share one namespace
// because both live in the checkpoint, keyed by name.
void check_leaves(const Graph& g, std::vector<std::string>& problems) {
  std::map<std::pair<OpKind, std::string>, ValueId> by_kind;
  std::map<std::string, ValueId> stored; // params and state
  for (ValueId v = 0; v < g.size(); ++v) {
    const Node& n = g.node(v);
    if (n.op == OpKind::Constant) {
      const AttrValue* value = n.attrs.find("value");
      if (!value ||
          !(std::holds_alternative<double>(*value) || std::holds_alternative<int64_t>(*value)))
        problems.push_back(fmt::format("{}: has no numeric attribute 'value'", where(g, v)));
    }
    if (!is_named_leaf(n.op)) continue;
    const AttrValue* name_attr = n.attrs.find("name");
    const std::string* name = name_attr ? std::get_if<std::string>(name_attr) : nullptr;
    if (!name || name->empty()) {
      problems.push_back(fmt::format("{}: has no non-empty string attribute 'name'", where(g, v)));
      continue;
    }
    auto [it, fresh] = by_kind.emplace(std::pair{n.op, *name}, v);
    if (!fresh) {
      problems.push_back(
          fmt::format("{}: name '{}' is also used by %{}", where(g, v), *name, it->second));
      continue; // one message per clash
    }
    if (n.op == OpKind::Param || n.op == OpKind::State) {
      auto [sit, sfresh] = stored.emplace(*name, v);
      if (!sfresh)
        problems.push_back(fmt::format("{}: name '{}' is also used by {} (params and state "
                                       "share one namespace)",
                                       where(g, v), *name, where(g, sit->second)));
    }
  }
}

void check_named_values(const Graph& g, std::vector<std::string>& problems) {
  std::set<std::string> names;
  for (const NamedValue& o : g.outputs) {
    if (o.value < 0 || o.value >= g.size())
      problems.push_back(fmt::format("output '{}': %{} is not a node", o.name, o.value));
    if (o.name.empty()) problems.push_back(fmt::format("output %{} has an empty name", o.value));
    if (!names.insert(o.name).second)
      problems.push_back(fmt::format("output '{}' is declared twice", o.name));
  }
  std::set<std::string> updated;
  for (const NamedValue& u : g.updates) {
    if (u.value < 0 || u.value >= g.size()) {
      problems.push_back(fmt::format("update '{}': %{} is not a node", u.name, u.value));
      continue;
    }
    if (!updated.insert(u.name).second)
      problems.push_back(fmt::format("'{}' is updated twice", u.name));
    auto leaf = g.find_leaf(OpKind::Param, u.name);
    if (!leaf) leaf = g.find_leaf(OpKind::State, u.name);
    if (!leaf) {
      problems.push_back(fmt::format("update '{}': no param or state has that name", u.name));
    } else if (g.node(*leaf).type.shape != g.node(u.value).type.shape) {
      problems.push_back(fmt::format("update '{}': %{} has type {}, the leaf has type {}", u.name,
                                     u.value, to_string(g.node(u.value).type),
                                     to_string(g.node(*leaf).type)));
    }
  }
  if (!g.loss) return;
  const NamedValue& l = *g.loss;
  if (l.value < 0 || l.value >= g.size()) {
    problems.push_back(fmt::format("loss '{}': %{} is not a node", l.name, l.value));
    return;
  }
  const TensorType& t = g.node(l.value).type;
  if (!is_float(t.dtype) || t.shape.rank() != 0)
    problems.push_back(
        fmt::format("loss '{}': %{} has type {}, a loss must be a float scalar (f32[] or f64[])",
                    l.name, l.value, to_string(t)));
}

} // namespace

std::vector<std::string> verify(const Graph& g) {
  std::vector<std::string> problems;
  for (ValueId v = 0; v < g.size(); ++v) check_node(g, v, problems);
  check_leaves(g, problems);
  check_named_values(g, problems);
  return problems;
}

void verify_or_throw(const Graph& g, std::string_view after_stage) {
  std::vector<std::string> problems = verify(g);
  if (problems.empty()) return;
  internal_error(fmt::format("the IR of '{}' is invalid after {} ({} problem{}):\n  {}", g.name,
                             after_stage, problems.size(), problems.size() == 1 ? "" : "s",
                             fmt::join(problems, "\n  ")));
}

} // namespace netc
