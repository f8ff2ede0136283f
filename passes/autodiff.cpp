#include "passes/autodiff.h"

#include "ir/gradient.h"
#include "ir/op_registry.h"

#include <fmt/format.h>

namespace netc {

namespace {

bool is_trainable(const Node& n) {
  return n.op == OpKind::Param && n.attrs.get_int("frozen", 0) == 0;
}

// active[v]: v depends on a trainable param and the loss depends on v. Only
// these values need an adjoint.
std::vector<bool> active_values(const Graph& g, ValueId loss) {
  std::vector<bool> from_param(static_cast<size_t>(g.size()), false);
  for (ValueId v = 0; v < g.size(); ++v) {
    const Node& n = g.node(v);
    bool any = is_trainable(n);
    for (ValueId i : n.inputs) any = any || from_param[static_cast<size_t>(i)];
    from_param[static_cast<size_t>(v)] = any && is_float(n.type.dtype);
  }
  std::vector<bool> to_loss(static_cast<size_t>(g.size()), false);
  to_loss[static_cast<size_t>(loss)] = true;
  for (ValueId v = loss; v >= 0; --v) {
    if (!to_loss[static_cast<size_t>(v)]) continue;
    for (ValueId i : g.node(v).inputs) to_loss[static_cast<size_t>(i)] = true;
  }
  std::vector<bool> active(static_cast<size_t>(g.size()));
  for (size_t i = 0; i < active.size(); ++i) active[i] = from_param[i] && to_loss[i];
  return active;
}

void require_rules(const Graph& g, const std::vector<bool>& active) {
  std::vector<Diagnostic> missing;
  for (ValueId v = 0; v < g.size(); ++v) {
    const Node& n = g.node(v);
    if (!active[static_cast<size_t>(v)] || n.inputs.empty() || op_def(n.op).grad) continue;
    missing.push_back(
        {g.source_file, n.loc,
         fmt::format("cannot differentiate '{}': the op has no gradient rule", op_name(n.op))});
  }
  if (!missing.empty()) throw UserError(std::move(missing));
}

} // namespace

Differentiated differentiate(const Graph& forward) {
  if (!forward.loss)
    throw UserError(forward.source_file, {}, "the model has no loss to differentiate");
  ValueId loss = forward.loss->value;
  const TensorType& lt = forward.node(loss).type;
  if (!is_float(lt.dtype) || lt.shape.rank() != 0)
    forward.fail(loss, fmt::format("the loss must be a float scalar, found {}", to_string(lt)));
  std::vector<bool> active = active_values(forward, loss);
  require_rules(forward, active);

  Differentiated out{forward, {}};
  GraphBuilder b(out.graph);
  // Contributions to each value's adjoint, summed when the value is reached:
  // every use of a value adds one (fan-out accumulates).
  std::vector<std::vector<ValueId>> contributions(static_cast<size_t>(forward.size()));
  std::vector<ValueId> adjoint(static_cast<size_t>(forward.size()), kNoGrad);
  if (active[static_cast<size_t>(loss)])
    contributions[static_cast<size_t>(loss)].push_back(
        GradBuilder(b, forward.node(loss).loc, lt.dtype).constant(1.0));

  for (ValueId v = loss; v >= 0; --v) {
    auto& parts = contributions[static_cast<size_t>(v)];
    if (parts.empty()) continue;
    const Node n = forward.node(v); // a copy: adding nodes may move the vector
    ValueId dy = parts[0];
    for (size_t i = 1; i < parts.size(); ++i) dy = b.op(OpKind::Add, {dy, parts[i]}, {}, n.loc);
    adjoint[static_cast<size_t>(v)] = dy;
    if (n.inputs.empty()) continue;
    GradBuilder gb(b, n.loc, n.type.dtype); // active values are float
    std::vector<ValueId> grads = op_def(n.op).grad(gb, n, v, dy);
    if (grads.size() != n.inputs.size())
      internal_error(fmt::format("the gradient rule of '{}' returned {} gradients for {} inputs",
                                 op_name(n.op), grads.size(), n.inputs.size()));
    for (size_t i = 0; i < grads.size(); ++i) {
      ValueId in = n.inputs[i];
      if (grads[i] == kNoGrad || !active[static_cast<size_t>(in)]) continue;
      const TensorType& want = forward.node(in).type;
      const TensorType& got = out.graph.node(grads[i]).type;
      if (want.shape != got.shape)
        internal_error(fmt::format("the gradient rule of '{}' gave input {} a gradient of type {}, "
                                   "expected {}",
                                   op_name(n.op), i, to_string(got), to_string(want)));
      contributions[static_cast<size_t>(in)].push_back(grads[i]);
    }
  }

  for (ValueId v = 0; v < forward.size(); ++v) {
    const Node& n = forward.node(v);
    if (!is_trainable(n)) continue;
    ValueId d = adjoint[static_cast<size_t>(v)];
    if (d == kNoGrad) { // the loss does not depend on this param
      ValueId zero = GradBuilder(b, n.loc, n.type.dtype).constant(0.0);
      d = b.op(OpKind::Broadcast, {zero}, Attrs{{"shape", n.type.shape.dims}}, n.loc);
    }
    out.grads.push_back({n.attrs.get_str("name"), d, n.loc});
  }
  return out;
}

} // namespace netc
