#include "ir/graph.h"

#include "ir/class_labels.h"
#include "ir/op_registry.h"

#include <fmt/format.h>

namespace netc {

std::optional<ValueId> Graph::find_leaf(OpKind kind, const std::string& name) const {
  for (ValueId v = 0; v < size(); ++v) {
    const Node& n = node(v);
    if (n.op == kind && n.attrs.get_str("name", "") == name) return v;
  }
  return std::nullopt;
}

std::vector<ValueId> Graph::leaves(OpKind kind) const {
  std::vector<ValueId> out;
  for (ValueId v = 0; v < size(); ++v)
    if (node(v).op == kind) out.push_back(v);
  return out;
}

void Graph::fail(ValueId v, const std::string& message) const {
  throw UserError(source_file, node(v).loc, message);
}

ValueId GraphBuilder::op(OpKind kind, std::vector<ValueId> inputs, Attrs attrs, SourceLoc loc) {
  const OpDef& def = op_def(kind);
  if (!def.shape) internal_error(fmt::format("leaf '{}' built as an op", op_name(kind)));
  int n = static_cast<int>(inputs.size());
  if (n < def.min_inputs || (def.max_inputs >= 0 && n > def.max_inputs)) {
    std::string expected = def.max_inputs < 0 ? fmt::format("at least {}", def.min_inputs)
                           : def.min_inputs == def.max_inputs
                               ? fmt::format("{}", def.min_inputs)
                               : fmt::format("{} to {}", def.min_inputs, def.max_inputs);
    throw UserError(g_.source_file, loc,
                    fmt::format("'{}' expects {} input{}, found {}", op_name(kind), expected,
                                def.max_inputs == 1 ? "" : "s", n));
  }
  std::vector<TensorType> types;
  types.reserve(inputs.size());
  for (ValueId v : inputs) {
    if (v < 0 || v >= g_.size()) internal_error(fmt::format("input %{} is not defined", v));
    types.push_back(g_.node(v).type);
  }
  TensorType type;
  try {
    type = def.shape(attrs, types);
  } catch (const ShapeError& e) {
    throw UserError(g_.source_file, loc, fmt::format("{}: {}", op_name(kind), e.what()));
  }
  // Types cannot carry a label's class count; the graph can (ir/class_labels.h).
  if (auto mismatch = class_count_mismatch(g_, kind, inputs, attrs))
    throw UserError(g_.source_file, loc, fmt::format("{}: {}", op_name(kind), *mismatch));
  check_room(loc);
  g_.nodes.push_back(Node{kind, std::move(inputs), std::move(attrs), std::move(type), loc});
  return g_.size() - 1;
}

ValueId GraphBuilder::leaf(OpKind kind, TensorType type, Attrs attrs, SourceLoc loc) {
  if (op_def(kind).shape) internal_error(fmt::format("op '{}' built as a leaf", op_name(kind)));
  check_room(loc);
  g_.nodes.push_back(Node{kind, {}, std::move(attrs), std::move(type), loc});
  return g_.size() - 1;
}

void GraphBuilder::check_room(SourceLoc loc) const {
  if (g_.size() >= max_nodes_)
    throw UserError(g_.source_file, loc,
                    fmt::format("the model expands into more than {} operations, more than netc "
                                "compiles (a recurrent layer unrolls one cell per time step, a "
                                "block one copy of its body per call)",
                                max_nodes_));
}

ValueId GraphBuilder::constant(double value, SourceLoc loc, DType dtype) {
  return leaf(OpKind::Constant, TensorType{dtype, Shape{}}, Attrs{{"value", value}}, loc);
}

} // namespace netc
