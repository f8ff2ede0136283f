// Class labels and the width of what they index. A label declared `label y :
// class(10)[batch]` is an i32 Input leaf with attribute num_classes = 10; its
// type is i32[batch] whatever the count, so no shape rule sees the count.
// This is the graph-level rule that does: an op that reads class labels
// against a number of classes (softmax_cross_entropy's logits width,
// one_hot's num_classes) must agree with the labels' declared count, or the
// compiled kernels read past the end of a logits row.
#pragma once

#include "ir/graph.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace netc {

struct DeclaredClasses {
  int64_t count = 0;
  ValueId leaf = -1; // the Input leaf that declares it
};

// The class count declared for the labels `v`, followed back through the ops
// that only move label values (reshape, transpose, slice, and concat of
// labels with one count); nullopt when `v` is not such a label.
std::optional<DeclaredClasses> declared_classes(const Graph& g, ValueId v);

// Why op `kind` with these inputs and attributes disagrees with the class
// count of the labels it reads ("the logits have 7 classes ..."), or nullopt.
// Run after the op's shape rule accepted the input types.
std::optional<std::string> class_count_mismatch(const Graph& g, OpKind kind,
                                                std::span<const ValueId> inputs,
                                                const Attrs& attrs);

} // namespace netc
