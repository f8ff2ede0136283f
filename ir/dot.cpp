#include "ir/dot.h"

#include "ir/printer.h"

#include <fmt/format.h>

namespace netc {

namespace {

std::string dot_quote(std::string_view s) { return quote_string(s, QuoteFor::Dot); }

// The text of a label; dot_quote escapes it, so line breaks are real '\n'.
std::string label_of(const Node& n, ValueId v) {
  std::string head = fmt::format("%{} {}", v, op_name(n.op));
  if (n.op == OpKind::Constant) {
    if (const AttrValue* value = n.attrs.find("value"))
      head += fmt::format(" {}", format_attr_value(*value)); // not " " + s: GCC 12 -Wrestrict
  } else if (const AttrValue* name = n.attrs.find("name")) {
    if (const auto* s = std::get_if<std::string>(name)) head += fmt::format(" {}", *s);
  }
  return head + "\n" + to_string(n.type);
}

// Tolerant of a malformed attribute: a drawing should not fail on the graph
// it is meant to help debug.
bool is_frozen(const Node& n) {
  const AttrValue* f = n.attrs.find("frozen");
  const int64_t* i = f ? std::get_if<int64_t>(f) : nullptr;
  return i && *i != 0;
}

// Shape and colour by role, so the trainable parameters stand out.
std::string style_of(const Node& n) {
  switch (n.op) {
  case OpKind::Input: return "shape=ellipse, style=filled, fillcolor=\"#d6eaf8\"";
  case OpKind::Param:
    return is_frozen(n) ? "shape=box, style=filled, fillcolor=\"#cccccc\""
                        : "shape=box, style=filled, fillcolor=\"#fdebd0\"";
  case OpKind::State: return "shape=box, style=dashed";
  case OpKind::Hyper:
  case OpKind::Constant:
  case OpKind::BatchSize: return "shape=note, fontsize=8";
  default: return "shape=box, style=rounded";
  }
}

} // namespace

std::string print_dot(const Graph& g) {
  std::string out = fmt::format("digraph {} {{\n", dot_quote(g.name.empty() ? "netc" : g.name));
  out += "  rankdir=TB;\n";
  out += "  node [fontname=\"Helvetica\", fontsize=10];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=8];\n";
  for (ValueId v = 0; v < g.size(); ++v) {
    const Node& n = g.node(v);
    out += fmt::format("  n{} [label={}, {}];\n", v, dot_quote(label_of(n, v)), style_of(n));
  }
  for (ValueId v = 0; v < g.size(); ++v) {
    const Node& n = g.node(v);
    // Operand numbers matter for non-commutative ops (sub, matmul, concat).
    bool numbered = n.inputs.size() > 1;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      out += fmt::format("  n{} -> n{}", n.inputs[i], v);
      out += numbered ? fmt::format(" [label=\"{}\"];\n", i) : std::string(";\n");
    }
  }
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    const NamedValue& o = g.outputs[i];
    out += fmt::format("  out{} [label={}, shape=house, style=filled, fillcolor=\"#d5f5e3\"];\n", i,
                       dot_quote("output " + o.name));
    out += fmt::format("  n{} -> out{};\n", o.value, i);
  }
  if (g.loss) {
    out += fmt::format("  loss [label={}, shape=doubleoctagon, color=red, fontcolor=red];\n",
                       dot_quote("loss " + g.loss->name));
    out += fmt::format("  n{} -> loss [color=red];\n", g.loss->value);
  }
  return out + "}\n";
}

} // namespace netc
