// What fusion decides about single values before it forms kernels: each
// op's role, and which values never get a buffer of their own: generators
// and recomputed activations (computed inside every kernel that reads them)
// and views (a reshape read as its source's buffer). Internal to
// passes/fusion.cpp; a separate file because the policy is a unit of its own.
#pragma once

#include "ir/graph.h"
#include "ir/op_traits.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace netc::fusion {

using Role = FusionRole;

// What each op is to the fusion policy: its row of the op table (ir/ops.def).
inline Role role_of(OpKind k) { return op_traits(k).role; }
// "op %id", for notes.
std::string describe(const Graph& g, ValueId v);

class ValueClasses {
public:
  explicit ValueClasses(const Graph& g);

  const std::vector<ValueId>& users(ValueId v) const { return users_[size_t(v)]; }
  // An output, the loss or an update: must be stored.
  bool external(ValueId v) const { return external_[size_t(v)]; }
  bool generator(ValueId v) const { return generator_[size_t(v)]; }
  bool recomputed(ValueId v) const { return recomputed_[size_t(v)]; }
  // Computed inside every kernel that reads it, never placed in a kernel.
  bool inlined(ValueId v) const { return generator(v) || recomputed(v); }
  // A view's source buffer, else -1.
  ValueId view_source(ValueId v) const { return view_[size_t(v)]; }
  // The values v reads from buffers or from its own kernel, looking through
  // the inlined values it recomputes: the dependencies between kernels.
  const std::set<ValueId>& stored_inputs(ValueId v) const;

private:
  void find_generators();
  void find_recomputed();
  bool would_be_epilogue(ValueId v);
  void find_views();
  bool is_large(ValueId v) const;

  const Graph& g_;
  std::vector<std::vector<ValueId>> users_;
  std::vector<bool> external_;
  std::vector<bool> generator_;
  std::vector<bool> recomputed_;
  std::vector<bool> epilogue_;           // would_be_epilogue's answers
  std::vector<std::set<ValueId>> roots_; // a recomputed value's stored large sources
  std::vector<int> cone_;                // the cost of the ops recomputing it
  std::vector<ValueId> view_;            // a view's source buffer, else -1
  // stored_inputs' answers, filled on demand (the classes above are final
  // once the constructor returns).
  mutable std::vector<std::optional<std::set<ValueId>>> stored_inputs_;
};

} // namespace netc::fusion
