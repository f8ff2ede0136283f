#include "passes/fusion_values.h"

#include <fmt/format.h>

namespace netc::fusion {

namespace {

// Limits of recomputation: the stored sources a recomputed value may read,
// and the cost of the ops recomputing it (each kernel that reads it pays
// them), in adds.
constexpr size_t kMaxRecomputeSources = 2;
constexpr int kMaxRecomputeCost = 24;

// An op that evaluates a polynomial per element (codegen's exp, tanh, erf)
// costs about a dozen adds and multiplies: one of them may be recomputed
// (gelu before a matmul, a dropout mask), two may not. An lstm step's i g =
// sigmoid(.) tanh(.) was recomputed by the next step's kernel, seven
// transcendentals per element where five are needed. An op missing here
// counts as an add: slower code at worst, never wrong code.
int recompute_cost(OpKind op) {
  switch (op) {
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Sigmoid:
  case OpKind::Tanh:
  case OpKind::Erf:
  case OpKind::Gelu:
  case OpKind::Elu:
  case OpKind::Pow: return 12;
  default: return 1;
  }
}

} // namespace

std::string describe(const Graph& g, ValueId v) {
  return fmt::format("{} %{}", op_name(g.node(v).op), v);
}

ValueClasses::ValueClasses(const Graph& g) : g_(g) {
  size_t n = size_t(g.size());
  users_.resize(n);
  for (ValueId v = 0; v < g.size(); ++v)
    for (ValueId i : g.node(v).inputs) users_[size_t(i)].push_back(v);
  external_.assign(n, false);
  for (const auto& o : g.outputs) external_[size_t(o.value)] = true;
  if (g.loss) external_[size_t(g.loss->value)] = true;
  for (const auto& u : g.updates) external_[size_t(u.value)] = true;
  generator_.assign(n, false);
  find_generators();
  find_recomputed();
  find_views();
  stored_inputs_.resize(n);
}

// Generators: pointwise values computed from leaves and other generators
// alone (dropout_mask reads only its input's shape), never stored unless
// the graph itself needs them (an output, the loss, an update). Large
// values derived from params alone (batch norm folded into weights) are
// not generators: recomputing them in a matmul's inner loop would cost
// more than storing them once per step.
void ValueClasses::find_generators() {
  for (ValueId v = 0; v < g_.size(); ++v) {
    const Node& n = g_.node(v);
    if (role_of(n.op) != Role::pointwise || external_[size_t(v)]) continue;
    if (!n.type.shape.has_batch() && n.type.shape.static_elements() > 4096) continue;
    bool from_leaves = true;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (n.op == OpKind::DropoutMask && k == 0) continue; // shape only
      ValueId i = n.inputs[k];
      Role ri = role_of(g_.node(i).op);
      from_leaves = from_leaves &&
                    (ri == Role::named_leaf || ri == Role::inline_leaf || generator_[size_t(i)]);
    }
    generator_[size_t(v)] = from_leaves;
  }
}

// Recomputed activations: a cheap pointwise value over the batch that at
// most two stored values feed (through other recomputed values) is never
// stored; every kernel that reads it recomputes it from those sources.
// Writing such a value and reading it back costs more memory traffic than
// reading its sources again: batch norm's centred and normalized values,
// its ReLU and the ReLU's mask were five stored tensors per layer, and the
// CNN's batch-norm kernels moved ~400 MB per training step. Matmul and
// conv operands stay stored (they are read in packed tiles), as do the
// graph's results.
void ValueClasses::find_recomputed() {
  recomputed_.assign(size_t(g_.size()), false);
  epilogue_.assign(size_t(g_.size()), false);
  roots_.resize(size_t(g_.size()));
  cone_.assign(size_t(g_.size()), 0);
  for (ValueId v = 0; v < g_.size(); ++v) {
    const Node& n = g_.node(v);
    if (role_of(n.op) != Role::pointwise || generator_[size_t(v)] || external_[size_t(v)] ||
        !n.type.shape.has_batch() || users_[size_t(v)].empty())
      continue;
    bool inline_everywhere = true;
    for (ValueId u : users_[size_t(v)]) {
      KernelKind kind = op_traits(g_.node(u).op).kernel;
      if (kind == KernelKind::matmul || kind == KernelKind::conv) inline_everywhere = false;
    }
    if (!inline_everywhere || would_be_epilogue(v)) continue;
    std::set<ValueId> roots;
    int cone = recompute_cost(n.op);
    for (ValueId i : n.inputs) {
      if (recomputed_[size_t(i)]) {
        roots.insert(roots_[size_t(i)].begin(), roots_[size_t(i)].end());
        cone += cone_[size_t(i)];
      } else if (is_large(i)) {
        roots.insert(i);
      }
    }
    if (roots.size() > kMaxRecomputeSources || cone > kMaxRecomputeCost) continue;
    recomputed_[size_t(v)] = true;
    roots_[size_t(v)] = std::move(roots);
    cone_[size_t(v)] = cone;
  }
}

// True when v is the only use of an anchor's result (directly or through
// such values): it costs nothing as the anchor's epilogue (a bias add on
// the matmul's register tile), so it is computed there once.
bool ValueClasses::would_be_epilogue(ValueId v) {
  const Node& n = g_.node(v);
  bool epilogue = false;
  for (ValueId p : n.inputs) {
    const Node& pn = g_.node(p);
    if (pn.type.shape != n.type.shape || users_[size_t(p)].size() != 1 || external_[size_t(p)])
      continue;
    epilogue = epilogue || role_of(pn.op) == Role::anchor || epilogue_[size_t(p)];
  }
  epilogue_[size_t(v)] = epilogue;
  return epilogue;
}

// Views: a reshape of a stored value is the same bytes (row-major), so it
// gets no kernel; its readers read the source's buffer under the new shape
// (memplan gives both one offset).
void ValueClasses::find_views() {
  view_.assign(size_t(g_.size()), -1);
  for (ValueId v = 0; v < g_.size(); ++v) {
    const Node& n = g_.node(v);
    if (n.op != OpKind::Reshape || external_[size_t(v)] || inlined(v)) continue;
    ValueId p = n.inputs[0];
    OpKind op = g_.node(p).op;
    if (inlined(p) || external_[size_t(p)] || op == OpKind::Param || op == OpKind::State ||
        op == OpKind::Hyper || role_of(op) == Role::inline_leaf)
      continue;
    view_[size_t(v)] = view_[size_t(p)] >= 0 ? view_[size_t(p)] : p;
  }
}

// A value worth counting as memory traffic: batch-sized or large.
bool ValueClasses::is_large(ValueId v) const {
  const Node& n = g_.node(v);
  if (role_of(n.op) == Role::inline_leaf || generator_[size_t(v)]) return false;
  return n.type.shape.has_batch() || n.type.shape.static_elements() > 4096;
}

// The values v reads from buffers or from its own kernel, looking through
// the inlined values it recomputes: the dependencies between kernels.
// Memoized: fusion asks for the same values again and again while it merges,
// and an inlined cone with shared subexpressions (an lstm step's gates) was
// walked once per path: 15% of a cache hit's compile of examples/lstm.nn.
const std::set<ValueId>& ValueClasses::stored_inputs(ValueId v) const {
  std::optional<std::set<ValueId>>& memo = stored_inputs_[size_t(v)];
  if (!memo) {
    std::set<ValueId> out;
    for (ValueId i : g_.node(v).inputs) {
      if (inlined(i)) {
        const std::set<ValueId>& deeper = stored_inputs(i); // (no reallocation: sized once)
        out.insert(deeper.begin(), deeper.end());
      } else {
        out.insert(i);
      }
    }
    memo = std::move(out);
  }
  return *memo;
}

} // namespace netc::fusion
