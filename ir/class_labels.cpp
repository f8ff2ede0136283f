#include "ir/class_labels.h"

#include <fmt/format.h>

namespace netc {

namespace {

// Ops whose output holds some of their inputs' values unchanged: labels pass
// through them with their meaning.
bool moves_values(OpKind k) {
  return k == OpKind::Reshape || k == OpKind::Transpose || k == OpKind::Slice ||
         k == OpKind::Concat;
}

// The class count an op compares labels with: softmax_cross_entropy's logits
// width, one_hot's num_classes. Its labels are input `labels`.
std::optional<int64_t> classes_read(const Graph& g, OpKind kind, std::span<const ValueId> inputs,
                                    const Attrs& attrs, size_t& labels) {
  if (kind == OpKind::SoftmaxCrossEntropy && inputs.size() == 2) {
    const Shape& logits = g.node(inputs[0]).type.shape;
    if (logits.rank() != 2 || logits[1] == kBatch) return std::nullopt;
    labels = 1;
    return logits[1];
  }
  if (kind == OpKind::OneHot && inputs.size() == 1 && attrs.has("num_classes")) {
    labels = 0;
    return attrs.get_int("num_classes");
  }
  return std::nullopt;
}

} // namespace

std::optional<DeclaredClasses> declared_classes(const Graph& g, ValueId v) {
  // Iterative: a label may pass through many reshapes, and recursion depth
  // should not depend on the model.
  while (v >= 0 && v < g.size()) {
    const Node& n = g.node(v);
    if (n.op == OpKind::Input) {
      if (!n.attrs.has("num_classes")) return std::nullopt;
      return DeclaredClasses{n.attrs.get_int("num_classes"), v};
    }
    if (!moves_values(n.op) || n.inputs.empty()) return std::nullopt;
    // Inputs name earlier nodes; a broken graph (for the verifier) must not loop.
    for (ValueId in : n.inputs)
      if (in < 0 || in >= v) return std::nullopt;
    if (n.op == OpKind::Concat) {
      // Labels of different counts mean nothing together; say nothing.
      std::optional<DeclaredClasses> first = declared_classes(g, n.inputs[0]);
      for (size_t i = 1; first && i < n.inputs.size(); ++i) {
        std::optional<DeclaredClasses> other = declared_classes(g, n.inputs[i]);
        if (!other || other->count != first->count) return std::nullopt;
      }
      return first;
    }
    v = n.inputs[0];
  }
  return std::nullopt;
}

std::optional<std::string> class_count_mismatch(const Graph& g, OpKind kind,
                                                std::span<const ValueId> inputs,
                                                const Attrs& attrs) {
  size_t labels = 0;
  std::optional<int64_t> width = classes_read(g, kind, inputs, attrs, labels);
  if (!width) return std::nullopt;
  std::optional<DeclaredClasses> declared = declared_classes(g, inputs[labels]);
  if (!declared || declared->count == *width) return std::nullopt;
  const Node& leaf = g.node(declared->leaf);
  std::string where = leaf.loc.line ? fmt::format(" (line {})", leaf.loc.line) : "";
  std::string label = fmt::format("label '{}' is declared class({}){}",
                                  leaf.attrs.get_str("name", "?"), declared->count, where);
  if (kind == OpKind::SoftmaxCrossEntropy)
    return fmt::format("the logits have {} classes ({}), but {}; make the logits {} wide or "
                       "declare class({})",
                       *width, to_string(g.node(inputs[0]).type), label, declared->count, *width);
  return fmt::format("num_classes is {}, but {}", *width, label);
}

} // namespace netc
