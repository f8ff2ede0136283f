// ONNX -> IR: the optimizers of the training domain ai.onnx.preview.training
// (version 1): Adagrad, Momentum and Adam, and Gradient (at the end). Each updates n tensors at
// once: its inputs are R (the learning rate, a float scalar), T (the update count, an int64
// scalar), then X1..Xn, G1..Gn and the optimizer's state tensors (H for Adagrad; V for Momentum; V
// then H for Adam), and its outputs the new X1..Xn and the new state in the same order. The updates
// are elementwise, so they map to IR elementwise ops, with the formulas of the operator spec (and
// ONNX's reference implementation) above each mapping.
//
// T only selects and scales scalar coefficients (bias correction, the decay
// of Adagrad's rate), which are computed here in double: T must be known at
// import time (a constant, or an input the conformance runner binds), as
// netc has no integer arithmetic at run time. R may be a runtime scalar.
#include "frontend/onnx/import_context.h"
#include "ir/gradient.h"
#include "ir/op_registry.h"

#include <cmath>
#include <fmt/format.h>

namespace netc::onnx_import {

namespace {

// The schema's default epsilon of Adagrad and Adam, as the float32 an
// attribute holds.
constexpr double kDefaultEpsilon = double(1e-6f);

// The n tensors of each group after R and T; `groups` is 3 or 4.
int64_t tensor_count(const NodeContext& c, int groups, int out_groups) {
  int64_t rest = c.num_inputs() - 2;
  if (rest <= 0 || rest % groups != 0)
    c.unsupported(
        fmt::format("{} inputs: it needs R, T and {} groups of tensors", c.num_inputs(), groups));
  int64_t n = rest / groups;
  if (c.num_outputs() != n * out_groups)
    c.unsupported(
        fmt::format("{} outputs for {} tensors: it needs {}", c.num_outputs(), n, n * out_groups));
  return n;
}

// T, which must be a constant integer.
int64_t update_count(const NodeContext& c) {
  double t = c.scalar(1, "the update count T");
  return folded_int(t);
}

// R times a factor known here: a constant when R is one, else a product.
ValueId learning_rate(NodeContext& c, double factor) {
  if (const Folded* r = c.folded(0)) {
    if (r->elements() != 1) c.unsupported("the learning rate R must be a scalar");
    return c.scalar(r->data[0] * factor);
  }
  ValueId r = c.tensor(0);
  if (c.type_of(r).shape.static_elements() != 1 || c.type_of(r).shape.has_batch())
    c.unsupported(
        fmt::format("the learning rate R is {}; it must be a scalar", to_string(c.type_of(r))));
  r = c.reshape(r, {});
  return factor == 1.0 ? r : c.op(OpKind::Mul, {r, c.scalar(factor)});
}

// An attribute the spec lists as required.
double required_float(const NodeContext& c, std::string_view name) {
  if (!c.has_attr(name)) c.unsupported(fmt::format("attribute '{}' is required", name));
  return c.attr_float(name, 0);
}

ValueId scaled(NodeContext& c, ValueId x, double k) {
  return k == 1.0 ? x : c.op(OpKind::Mul, {x, c.scalar(k)});
}

// G_regularized = norm_coefficient X + G
ValueId regularized(NodeContext& c, ValueId x, ValueId g, double norm) {
  return norm == 0.0 ? g : c.op(OpKind::Add, {scaled(c, x, norm), g});
}

// The float tensor input i, the same shape as X_k (input 2 + k).
ValueId operand(NodeContext& c, int i, int64_t k, const char* what) {
  ValueId v = c.tensor(i);
  const TensorType& t = c.type_of(v);
  const TensorType& x = c.type(int(2 + k));
  if (t.dtype != DType::f32 || t.shape != x.shape)
    c.unsupported(fmt::format("{} (input {}) is {}; it must have the type of X{} ({})", what, i,
                              to_string(t), k + 1, to_string(x)));
  return v;
}

// Adagrad {decay_factor = 0, epsilon = 1e-6, norm_coefficient = 0}:
//   r = R / (1 + T decay_factor)
//   G_regularized = norm_coefficient X + G
//   H_new = H + G_regularized^2
//   X_new = X - r G_regularized / (sqrt(H_new) + epsilon)
void map_adagrad(NodeContext& c) {
  int64_t n = tensor_count(c, 3, 2), t = update_count(c);
  double decay = c.attr_float("decay_factor", 0), eps = c.attr_float("epsilon", kDefaultEpsilon);
  double norm = c.attr_float("norm_coefficient", 0);
  ValueId r = learning_rate(c, 1.0 / (1.0 + double(t) * decay));
  for (int64_t k = 0; k < n; ++k) {
    ValueId x = operand(c, int(2 + k), k, "X"), g = operand(c, int(2 + n + k), k, "G");
    ValueId h = operand(c, int(2 + 2 * n + k), k, "H");
    ValueId gr = regularized(c, x, g, norm);
    ValueId h_new = c.op(OpKind::Add, {h, c.op(OpKind::Mul, {gr, gr})});
    ValueId denom = c.op(OpKind::Add, {c.op(OpKind::Sqrt, {h_new}), c.scalar(eps)});
    ValueId step = c.op(OpKind::Div, {c.op(OpKind::Mul, {r, gr}), denom});
    c.set_output(int(k), c.op(OpKind::Sub, {x, step}));
    c.set_output(int(n + k), h_new);
  }
}

// Momentum {alpha, beta, mode = "standard" | "nesterov", norm_coefficient}:
//   G_regularized = norm_coefficient X + G
//   beta_adjusted = T > 0 ? beta : 1
//   V_new = alpha V + beta_adjusted G_regularized
//   standard: X_new = X - R V_new
//   nesterov: X_new = X - R (G_regularized + alpha V_new)
void map_momentum(NodeContext& c) {
  int64_t n = tensor_count(c, 3, 2), t = update_count(c);
  double alpha = required_float(c, "alpha"), beta = required_float(c, "beta");
  double norm = required_float(c, "norm_coefficient");
  if (!c.has_attr("mode")) c.unsupported("attribute 'mode' is required");
  std::string mode = c.attr_str("mode", "");
  if (mode != "standard" && mode != "nesterov")
    c.unsupported(fmt::format("mode '{}' is not standard or nesterov", mode));
  double beta_adjusted = t > 0 ? beta : 1.0;
  ValueId r = learning_rate(c, 1.0);
  for (int64_t k = 0; k < n; ++k) {
    ValueId x = operand(c, int(2 + k), k, "X"), g = operand(c, int(2 + n + k), k, "G");
    ValueId v = operand(c, int(2 + 2 * n + k), k, "V");
    ValueId gr = regularized(c, x, g, norm);
    ValueId v_new = c.op(OpKind::Add, {scaled(c, v, alpha), scaled(c, gr, beta_adjusted)});
    ValueId dir = mode == "standard" ? v_new : c.op(OpKind::Add, {gr, scaled(c, v_new, alpha)});
    c.set_output(int(k), c.op(OpKind::Sub, {x, c.op(OpKind::Mul, {r, dir})}));
    c.set_output(int(n + k), v_new);
  }
}

// Adam {alpha = 0.9, beta = 0.999, epsilon = 1e-6, norm_coefficient = 0,
//       norm_coefficient_post = 0}:
//   G_regularized = norm_coefficient X + G
//   V_new = alpha V + (1 - alpha) G_regularized
//   H_new = beta H + (1 - beta) G_regularized^2
//   R_adjusted = T > 0 ? R sqrt(1 - beta^T) / (1 - alpha^T) : R
//   X_new = (1 - norm_coefficient_post) (X - R_adjusted V_new / (sqrt(H_new) + epsilon))
void map_adam(NodeContext& c) {
  int64_t n = tensor_count(c, 4, 3), t = update_count(c);
  double alpha = c.attr_float("alpha", double(0.9f)), beta = c.attr_float("beta", double(0.999f));
  double eps = c.attr_float("epsilon", kDefaultEpsilon), norm = c.attr_float("norm_coefficient", 0);
  double post = c.attr_float("norm_coefficient_post", 0);
  double correction = 1.0;
  if (t > 0) {
    double td = double(t);
    correction = std::sqrt(1 - std::pow(beta, td)) / (1 - std::pow(alpha, td));
    if (!std::isfinite(correction))
      c.unsupported(
          fmt::format("the bias correction at T = {} is not finite (alpha {})", t, alpha));
  }
  ValueId r = learning_rate(c, correction);
  for (int64_t k = 0; k < n; ++k) {
    ValueId x = operand(c, int(2 + k), k, "X"), g = operand(c, int(2 + n + k), k, "G");
    ValueId v = operand(c, int(2 + 2 * n + k), k, "V");
    ValueId h = operand(c, int(2 + 3 * n + k), k, "H");
    ValueId gr = regularized(c, x, g, norm);
    ValueId v_new = c.op(OpKind::Add, {scaled(c, v, alpha), scaled(c, gr, 1 - alpha)});
    ValueId h_new =
        c.op(OpKind::Add, {scaled(c, h, beta), scaled(c, c.op(OpKind::Mul, {gr, gr}), 1 - beta)});
    ValueId denom = c.op(OpKind::Add, {c.op(OpKind::Sqrt, {h_new}), c.scalar(eps)});
    ValueId x_new =
        c.op(OpKind::Sub, {x, c.op(OpKind::Mul, {r, c.op(OpKind::Div, {v_new, denom})})});
    c.set_output(int(k), scaled(c, x_new, 1 - post));
    c.set_output(int(n + k), v_new);
    c.set_output(int(2 * n + k), h_new);
  }
}

// ---- Gradient {xs, y, zs} -------------------------------------------------------
// The derivatives of y with respect to each tensor named in xs, by netc's
// reverse mode on the IR the importer built for the graph so far: every op
// between the xs and y adds its gradient rule's ops (ir/ops/<family>.cpp), as
// passes/autodiff.cpp does for a loss, and adjoints of shared values sum.
// The importer keeps the xs unfolded (Importer::keep_differentiated_unfolded)
// so that this path exists. y must hold one value (its derivative is
// defined). The node's inputs must be the xs and zs themselves: a gradient
// at other values would need the subgraph evaluated again at them.
std::vector<std::string> attr_strings(const NodeContext& c, std::string_view name) {
  for (const auto& a : c.node().attribute())
    if (a.name() == name) return {a.strings().begin(), a.strings().end()};
  return {};
}

void map_gradient(NodeContext& c) {
  std::vector<std::string> xs = attr_strings(c, "xs"), zs = attr_strings(c, "zs");
  std::string y_name = c.attr_str("y", "");
  if (xs.empty() || y_name.empty()) c.unsupported("attributes 'xs' and 'y' are required");
  std::vector<std::string> fed = xs;
  fed.insert(fed.end(), zs.begin(), zs.end());
  if (c.num_inputs() != int(fed.size()) || c.num_outputs() > int(xs.size()))
    c.unsupported(fmt::format("{} inputs and {} outputs for {} xs and {} zs", c.num_inputs(),
                              c.num_outputs(), xs.size(), zs.size()));
  for (size_t i = 0; i < fed.size(); ++i)
    if (c.node().input(int(i)) != fed[i])
      c.unsupported(fmt::format("input {} is '{}', not '{}': netc computes the gradient at the "
                                "values of xs and zs themselves",
                                i, c.node().input(int(i)), fed[i]));
  Importer& im = c.importer();
  auto ir_of = [&](const std::string& name) {
    const OnnxValue* found = im.find_value(name);
    if (!found)
      c.unsupported(fmt::format("'{}' is not a value of the graph before this node", name));
    const OnnxValue& v = *found;
    if (v.poisoned) c.unsupported(fmt::format("'{}' was not imported", name));
    if (!v.ir) c.unsupported(fmt::format("'{}' is a constant: it has no derivative", name));
    return *v.ir;
  };
  ValueId y = ir_of(y_name);
  const TensorType yt = c.type_of(y);
  if (!is_float(yt.dtype) || yt.shape.has_batch() || yt.shape.static_elements() != 1)
    c.unsupported(fmt::format("y ('{}') is {}; netc differentiates a float tensor of one value",
                              y_name, to_string(yt)));
  std::vector<ValueId> x_ids;
  for (const std::string& x : xs) x_ids.push_back(ir_of(x));

  // active[v]: v depends on an x (through float values) and y depends on v.
  const Graph& g = im.graph();
  size_t n = size_t(y) + 1;
  std::vector<bool> is_x(n, false), from_x(n, false), to_y(n, false);
  for (ValueId x : x_ids)
    if (x <= y) is_x[size_t(x)] = true;
  for (ValueId v = 0; v <= y; ++v) {
    bool any = is_x[size_t(v)];
    for (ValueId i : g.node(v).inputs) any = any || from_x[size_t(i)];
    from_x[size_t(v)] = any && is_float(g.node(v).type.dtype);
  }
  to_y[size_t(y)] = true;
  std::vector<std::string> missing;
  for (ValueId v = y; v >= 0; --v) {
    if (!to_y[size_t(v)] || is_x[size_t(v)]) continue; // the xs are independent variables
    for (ValueId i : g.node(v).inputs) to_y[size_t(i)] = true;
    if (from_x[size_t(v)] && !op_def(g.node(v).op).grad)
      missing.push_back(std::string(op_name(g.node(v).op)));
  }
  if (!missing.empty())
    c.unsupported(fmt::format("no gradient rule for {}", fmt::join(missing, ", ")));

  GraphBuilder& b = im.builder();
  std::vector<std::vector<ValueId>> parts(n);
  std::vector<ValueId> adjoint(n, kNoGrad);
  if (from_x[size_t(y)]) {
    ValueId one = GradBuilder(b, g.node(y).loc, yt.dtype).constant(1.0);
    parts[size_t(y)].push_back(c.reshape(one, yt.shape.dims));
  }
  for (ValueId v = y; v >= 0; --v) {
    if (parts[size_t(v)].empty()) continue;
    const Node node = g.node(v); // a copy: adding nodes may move the vector
    ValueId dy = parts[size_t(v)][0];
    for (size_t i = 1; i < parts[size_t(v)].size(); ++i)
      dy = c.op(OpKind::Add, {dy, parts[size_t(v)][i]});
    adjoint[size_t(v)] = dy;
    if (is_x[size_t(v)] || node.inputs.empty()) continue;
    GradBuilder gb(b, node.loc, node.type.dtype);
    std::vector<ValueId> grads = op_def(node.op).grad(gb, node, v, dy);
    for (size_t i = 0; i < grads.size() && i < node.inputs.size(); ++i) {
      ValueId in = node.inputs[i];
      if (grads[i] != kNoGrad && from_x[size_t(in)] && to_y[size_t(in)])
        parts[size_t(in)].push_back(grads[i]);
    }
  }
  for (size_t i = 0; i < xs.size(); ++i) {
    ValueId x = x_ids[i];
    ValueId d = x <= y ? adjoint[size_t(x)] : kNoGrad;
    if (d == kNoGrad) { // y does not depend on this x
      const TensorType xt = c.type_of(x);
      ValueId zero = GradBuilder(b, g.node(x).loc, xt.dtype).constant(0.0);
      d = c.op(OpKind::Broadcast, {zero}, Attrs{{"shape", xt.shape.dims}});
    }
    c.set_output(int(i), d);
  }
}

const OpMapping kTrainingMappings[] = {
    {"Adagrad", {"decay_factor", "epsilon", "norm_coefficient"}, map_adagrad},
    {"Momentum", {"alpha", "beta", "mode", "norm_coefficient"}, map_momentum},
    {"Adam", {"alpha", "beta", "epsilon", "norm_coefficient", "norm_coefficient_post"}, map_adam},
    {"Gradient", {"xs", "y", "zs"}, map_gradient},
};

} // namespace

std::span<const OpMapping> training_mappings() { return kTrainingMappings; }

} // namespace netc::onnx_import
