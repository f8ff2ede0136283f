// Numerical gradient checking for tests: the symbolic gradient (autodiff +
// the reference interpreter in double) against central differences,
// ||d_num - d|| / (||d_num|| + ||d||) per parameter, as SPEC section 4 says.
// Also fails when every gradient is zero, since that would pass any
// comparison (Glow's GradCheckTest does the same).
#pragma once

#include "ir/init.h"
#include "ir/interpreter.h"
#include "passes/autodiff.h"

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace netc::grad_test {

// How to fill one operand of the op under test.
struct Operand {
  enum Kind { param, input, labels, hyper } kind = param;
  Shape shape;      // with kBatch where the batch goes
  double value = 0; // hyper: the value; labels: the number of classes
  // param/input values are normal samples transformed as below, to keep them
  // away from kinks (relu at 0) and out of domains (log of a negative).
  double offset = 0;     // added after `positive`
  bool positive = false; // |x| + 0.5
  bool is_f64 = false;
};

inline Operand param(Shape s) { return {Operand::param, std::move(s)}; }
inline Operand positive_param(Shape s) {
  Operand o{Operand::param, std::move(s)};
  o.positive = true;
  return o;
}
inline Operand labels(Shape s, int classes) {
  return {Operand::labels, std::move(s), double(classes)};
}
inline Operand hyper(double v) { return {Operand::hyper, Shape{}, v}; }

struct GradCheckResult {
  std::map<std::string, double> relative_error; // per param
  double max_abs_gradient = 0;
};

// Central differences of loss(values) in double for every element of every
// param, against the symbolic gradients of `g` (whose loss is set).
inline GradCheckResult check_graph_gradients(const Graph& g,
                                             std::map<std::string, Tensor<double>> values,
                                             int64_t batch, bool training = true,
                                             double eps = 1e-6) {
  Differentiated d = differentiate(g);
  RefContext<double> ctx;
  ctx.batch = batch;
  ctx.training = training;
  ctx.seed = 5;
  ctx.values = &values;
  auto loss_at = [&]() { return interpret(g, ctx)[static_cast<size_t>(g.loss->value)][0]; };
  std::vector<Tensor<double>> all = interpret(d.graph, ctx);
  GradCheckResult r;
  for (const NamedValue& gv : d.grads) {
    const Tensor<double>& sym = all[static_cast<size_t>(gv.value)];
    Tensor<double>& p = values.at(gv.name);
    REQUIRE(sym.shape == p.shape);
    double diff2 = 0, num2 = 0, sym2 = 0;
    for (int64_t i = 0; i < p.size(); ++i) {
      double keep = p[i];
      p[i] = keep + eps;
      double up = loss_at();
      p[i] = keep - eps;
      double down = loss_at();
      p[i] = keep;
      double num = (up - down) / (2 * eps);
      diff2 += (num - sym[i]) * (num - sym[i]);
      num2 += num * num;
      sym2 += sym[i] * sym[i];
      r.max_abs_gradient = std::max(r.max_abs_gradient, std::abs(sym[i]));
    }
    double denom = std::sqrt(num2) + std::sqrt(sym2);
    // A parameter whose exact gradient is zero (a bias right before batch
    // norm) has only rounding noise on both sides (~1e-10 at eps 1e-6);
    // a relative error means nothing there, so both sides must just be tiny.
    bool both_zero = std::sqrt(num2) < 1e-7 && std::sqrt(sym2) < 1e-7;
    r.relative_error[gv.name] = denom == 0 || both_zero ? 0 : std::sqrt(diff2) / denom;
  }
  return r;
}

// Builds loss = sum(op(operands) * R) with R a fixed random tensor (so every
// output element has its own weight), or loss = op(...) * 1.7 for a scalar op,
// and checks the gradient of every param operand. Returns the worst relative
// error; CHECKs that some gradient is non-zero.
inline double op_gradient_error(OpKind kind, const std::vector<Operand>& operands,
                                const Attrs& attrs = {}, int64_t batch = 2, bool training = true,
                                uint64_t seed = 11) {
  Graph g;
  g.source_file = "grad_check";
  GraphBuilder b(g);
  std::map<std::string, Tensor<double>> values;
  std::vector<ValueId> ins;
  for (size_t k = 0; k < operands.size(); ++k) {
    const Operand& o = operands[k];
    std::string name = "p"; // two steps: GCC 12 -O3 -Wrestrict false positive on "p" + string
    name += std::to_string(k);
    DType ft = o.is_f64 ? DType::f64 : DType::f32;
    if (o.kind == Operand::hyper) {
      ins.push_back(
          b.leaf(OpKind::Hyper, {ft, Shape{}}, Attrs{{"name", name}, {"value", o.value}}));
      continue;
    }
    Tensor<double> t(o.shape.concrete(batch));
    for (int64_t i = 0; i < t.size(); ++i) {
      double z = counter_normal(seed, name_stream(name), static_cast<uint32_t>(i));
      if (o.kind == Operand::labels)
        t[i] = static_cast<double>(hash32(seed, name_stream(name), 9, uint32_t(i)) %
                                   static_cast<uint32_t>(o.value));
      else
        t[i] = (o.positive ? std::abs(z) + 0.5 : z) + o.offset;
    }
    values.emplace(name, std::move(t));
    if (o.kind == Operand::labels)
      ins.push_back(b.leaf(OpKind::Input, {DType::i32, o.shape}, Attrs{{"name", name}}));
    else if (o.kind == Operand::input)
      ins.push_back(b.leaf(OpKind::Input, {ft, o.shape}, Attrs{{"name", name}}));
    else
      ins.push_back(b.leaf(OpKind::Param, {ft, o.shape}, Attrs{{"name", name}}));
  }
  ValueId y = b.op(kind, ins, attrs);
  const TensorType yt = g.node(y).type;
  ValueId loss;
  if (yt.shape.rank() == 0) {
    ValueId c = b.leaf(OpKind::Constant, {yt.dtype, Shape{}}, Attrs{{"value", 1.7}});
    loss = b.op(OpKind::Mul, {y, c});
  } else {
    Tensor<double> r(yt.shape.concrete(batch));
    for (int64_t i = 0; i < r.size(); ++i) r[i] = counter_normal(seed, 77, uint32_t(i));
    values.emplace("weights", std::move(r));
    ValueId w = b.leaf(OpKind::Input, yt, Attrs{{"name", "weights"}});
    loss = b.op(OpKind::ReduceSum, {b.op(OpKind::Mul, {y, w})});
  }
  g.loss = NamedValue{"loss", loss, {}};
  GradCheckResult r = check_graph_gradients(g, std::move(values), batch, training);
  CHECK_MESSAGE(r.max_abs_gradient > 0, "every gradient of ", op_name(kind), " is zero");
  double worst = 0;
  for (const auto& [name, e] : r.relative_error) worst = std::max(worst, e);
  return worst;
}

} // namespace netc::grad_test
