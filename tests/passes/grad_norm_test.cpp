// Gradient rules of the norm family against central differences in double
// (relative error < 1e-6): batchnorm in training mode on [N,C] and [N,C,H,W]
// inputs (channel axis 1 and last, batch 1 to 4, running statistics without
// gradient); dropout with keep = 1 (the identity) and keep = 0.7 (the mask is
// fixed for a seed and step, so the loss is smooth in x). Also the reference
// of dropout_mask: it is the mask dropout applies, bit for bit, and passes no
// gradient.
#include "grad_check.h"

#include "ir/gradient.h"

#include <cmath>

using namespace netc;
using namespace netc::grad_test;

namespace {

constexpr int64_t B = kBatch;
constexpr double kTol = 1e-6;

// A running statistic: a data input (state in a real model), positive.
Operand stat(int64_t c) {
  Operand o{Operand::input, Shape{c}};
  o.positive = true;
  return o;
}

// batchnorm(x, gamma, beta, running_mean, running_var) with x of shape `x`
// and C channels; the running statistics are params when `stats_trainable`
// (their gradient must then be an explicit zero: training mode ignores them).
std::vector<Operand> batchnorm_operands(Shape x, int64_t c, bool stats_trainable = false) {
  if (stats_trainable) return {param(std::move(x)), param({c}), param({c}), param({c}), param({c})};
  return {param(std::move(x)), param({c}), param({c}), stat(c), stat(c)};
}

// x -> {dropout(x, keep), dropout_mask(x, keep)} on one graph, run in T.
template <class T>
std::vector<Tensor<T>> dropout_and_mask(const std::vector<double>& x, double keep, int64_t step,
                                        bool training) {
  Graph g;
  GraphBuilder b(g);
  ValueId xv = b.leaf(OpKind::Input, {DType::f32, Shape{B, 5}}, Attrs{{"name", "x"}});
  ValueId kv =
      b.leaf(OpKind::Hyper, {DType::f32, Shape{}}, Attrs{{"name", "keep"}, {"value", keep}});
  Attrs stream{{"stream", int64_t(4)}};
  ValueId d = b.op(OpKind::Dropout, {xv, kv}, stream);
  ValueId m = b.op(OpKind::DropoutMask, {xv, kv}, stream);
  Tensor<T> xt({static_cast<int64_t>(x.size()) / 5, 5});
  for (size_t i = 0; i < x.size(); ++i) xt.data[i] = static_cast<T>(x[i]);
  std::map<std::string, Tensor<T>> values{{"x", xt}};
  RefContext<T> ctx;
  ctx.batch = xt.dim(0);
  ctx.training = training;
  ctx.seed = 9;
  ctx.step = step;
  ctx.values = &values;
  std::vector<Tensor<T>> all = interpret(g, ctx);
  return {all[size_t(d)], all[size_t(m)]};
}

std::vector<double> ramp(int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(0.37 * (i + 1) * (i % 2 ? -1 : 1));
  return v;
}

} // namespace

TEST_CASE("grad: batchnorm [N,C] in training mode") {
  // Not batch 2: two samples normalize to -1 and +1 whatever their values, so
  // dx is ~eps/(x1 - x2)^2, all rounding noise relative to itself.
  for (int64_t batch : {3, 4}) {
    INFO("batch ", batch);
    CHECK(op_gradient_error(OpKind::BatchNorm, batchnorm_operands({B, 3}, 3), {}, batch) < kTol);
  }
  // A static batch, a larger eps, and the channel axis given as -1.
  CHECK(op_gradient_error(OpKind::BatchNorm, batchnorm_operands({5, 2}, 2),
                          Attrs{{"eps", 1e-2}, {"axis", int64_t(-1)}}) < kTol);
}

TEST_CASE("grad: batchnorm [N,C,H,W] in training mode") {
  for (int64_t batch : {1, 2}) {
    INFO("batch ", batch);
    CHECK(op_gradient_error(OpKind::BatchNorm, batchnorm_operands({B, 2, 3, 3}, 2), {}, batch) <
          kTol);
    // Channels last: statistics over N, H and W of [N,H,W,C].
    CHECK(op_gradient_error(OpKind::BatchNorm, batchnorm_operands({B, 3, 2, 4}, 4),
                            Attrs{{"axis", int64_t(3)}}, batch) < kTol);
  }
}

TEST_CASE("grad: batchnorm's running statistics get an explicit zero gradient") {
  // Trainable running statistics: their numeric gradient is 0 in training
  // mode, and so is the symbolic one (kNoGrad becomes a zero tensor).
  CHECK(op_gradient_error(OpKind::BatchNorm, batchnorm_operands({B, 3}, 3, true), {}, 3) < kTol);
  Graph g;
  GraphBuilder b(g);
  std::vector<ValueId> ins = {
      b.leaf(OpKind::Param, {DType::f32, Shape{B, 2}}, Attrs{{"name", "x"}})};
  for (const char* name : {"gamma", "beta", "running_mean", "running_var"})
    ins.push_back(b.leaf(OpKind::Param, {DType::f32, Shape{2}}, Attrs{{"name", name}}));
  g.loss = NamedValue{"loss", b.op(OpKind::ReduceSum, {b.op(OpKind::BatchNorm, ins)}), {}};
  Differentiated d = differentiate(g);
  REQUIRE(d.grads.size() == 5);
  for (size_t i : {3, 4}) {
    INFO(d.grads[i].name);
    const Node& n = d.graph.node(d.grads[i].value);
    CHECK(n.op == OpKind::Broadcast);
    CHECK(d.graph.node(n.inputs[0]).attrs.get_float("value") == 0);
  }
}

TEST_CASE("grad: dropout with keep = 1 is the identity") {
  Attrs stream{{"stream", int64_t(3)}};
  for (int64_t batch : {1, 3}) {
    INFO("batch ", batch);
    CHECK(op_gradient_error(OpKind::Dropout, {param({B, 3, 4}), hyper(1.0)}, stream, batch) < kTol);
  }
  // dropout(x, 1) == x and its mask is exactly 1 everywhere, in training and not.
  std::vector<double> x = ramp(20);
  for (bool training : {true, false}) {
    std::vector<Tensor<float>> r = dropout_and_mask<float>(x, 1.0, 0, training);
    for (size_t i = 0; i < x.size(); ++i) {
      CHECK(r[0].data[i] == static_cast<float>(x[i]));
      CHECK(r[1].data[i] == 1.0f);
    }
  }
}

TEST_CASE("grad: dropout with keep = 0.7 multiplies dy by the recomputed mask") {
  Attrs stream{{"stream", int64_t(7)}};
  for (int64_t batch : {1, 3}) {
    INFO("batch ", batch);
    CHECK(op_gradient_error(OpKind::Dropout, {param({B, 4, 5}), hyper(0.7)}, stream, batch) < kTol);
  }
  // The backward graph recomputes the mask with the forward's stream.
  Graph g;
  GraphBuilder b(g);
  ValueId x = b.leaf(OpKind::Param, {DType::f32, Shape{B, 4}}, Attrs{{"name", "x"}});
  ValueId keep =
      b.leaf(OpKind::Hyper, {DType::f32, Shape{}}, Attrs{{"name", "keep"}, {"value", 0.7}});
  g.loss =
      NamedValue{"loss", b.op(OpKind::ReduceSum, {b.op(OpKind::Dropout, {x, keep}, stream)}), {}};
  Differentiated d = differentiate(g);
  int masks = 0;
  for (const Node& n : d.graph.nodes)
    if (n.op == OpKind::DropoutMask) {
      ++masks;
      CHECK(n.inputs == std::vector<ValueId>{x, keep});
      CHECK(n.attrs.get_int("stream") == 7);
    }
  CHECK(masks == 1);
}

TEST_CASE_TEMPLATE("dropout_mask is the mask dropout applies, bit for bit", T, float, double) {
  std::vector<double> x = ramp(400);
  for (double keep : {0.7, 0.5, 0.9}) {
    INFO("keep ", keep);
    std::vector<Tensor<T>> r = dropout_and_mask<T>(x, keep, 2, true);
    const Tensor<T>&out = r[0], &mask = r[1];
    T scale = T(1) / static_cast<T>(keep);
    int dropped = 0;
    for (int64_t e = 0; e < mask.size(); ++e) {
      INFO("element ", e);
      // The mask is 0 or exactly 1/keep, and 0 where dropout dropped.
      CHECK((mask[e] == 0 || mask[e] == scale));
      CHECK((mask[e] == 0) == (out[e] == 0));
      if (mask[e] == 0) ++dropped;
      if (mask[e] != 0) CHECK(out[e] == static_cast<T>(x[size_t(e)]) / static_cast<T>(keep));
    }
    // About (1 - keep) of 400 elements are dropped: within 4 standard deviations.
    CHECK(std::abs(dropped - 400 * (1 - keep)) < 4 * std::sqrt(400 * keep * (1 - keep)));
  }
  // A pure function of (seed, stream, step, element): the same step gives the
  // same mask; another step another one. The mode does not matter.
  CHECK(dropout_and_mask<T>(x, 0.7, 2, false)[1].data ==
        dropout_and_mask<T>(x, 0.7, 2, true)[1].data);
  CHECK(dropout_and_mask<T>(x, 0.7, 3, true)[1].data !=
        dropout_and_mask<T>(x, 0.7, 2, true)[1].data);
}

TEST_CASE("dropout_mask: shape rule, keep checks, FLOPs, no gradient") {
  Graph g;
  g.source_file = "mask.nn";
  GraphBuilder b(g);
  ValueId x = b.leaf(OpKind::Param, {DType::f32, Shape{B, 6}}, Attrs{{"name", "x"}});
  ValueId keep =
      b.leaf(OpKind::Hyper, {DType::f32, Shape{}}, Attrs{{"name", "keep"}, {"value", 0.6}});
  ValueId m = b.op(OpKind::DropoutMask, {x, keep}, Attrs{{"stream", int64_t(1)}});
  CHECK(g.node(m).type == TensorType{DType::f32, Shape{B, 6}});
  CHECK(op_def(OpKind::DropoutMask)
            .flops(g.node(m), std::vector<TensorType>{g.node(x).type, g.node(keep).type}) == 6);
  CHECK_THROWS_AS(b.op(OpKind::DropoutMask, {x, x}, Attrs{{"stream", int64_t(1)}}), UserError);
  CHECK_THROWS_AS(b.op(OpKind::DropoutMask, {x, keep}), UserError); // no stream
  // loss = sum(mask(x) * x): the mask is piecewise constant, so dloss/dx = mask.
  g.loss = NamedValue{"loss", b.op(OpKind::ReduceSum, {b.op(OpKind::Mul, {m, x})}), {}};
  std::map<std::string, Tensor<double>> values{{"x", Tensor<double>({3, 6})}};
  for (int64_t i = 0; i < 18; ++i) values["x"][i] = 0.1 * double(i) - 0.8;
  GradCheckResult r = check_graph_gradients(g, values, 3);
  CHECK(r.relative_error.at("x") < kTol);
  CHECK(r.max_abs_gradient == doctest::Approx(1 / 0.6));
  // keep out of (0, 1] is an error when the mask is computed.
  Graph bad;
  bad.source_file = "mask.nn";
  GraphBuilder bb(bad);
  ValueId bx = bb.leaf(OpKind::Input, {DType::f32, Shape{2}}, Attrs{{"name", "x"}});
  ValueId bk = bb.leaf(OpKind::Hyper, {DType::f32, Shape{}}, Attrs{{"name", "k"}, {"value", 1.5}});
  bb.op(OpKind::DropoutMask, {bx, bk}, Attrs{{"stream", int64_t(0)}});
  std::map<std::string, Tensor<float>> bvalues{{"x", Tensor<float>({2})}};
  RefContext<float> ctx;
  ctx.values = &bvalues;
  CHECK_THROWS_WITH_AS(interpret(bad, ctx), doctest::Contains("keep probability must be in (0,1]"),
                       UserError);
}

TEST_CASE("grad: layernorm over the last axis and the last two, batch 1 and 3") {
  using Axes = std::vector<int64_t>;
  for (int64_t batch : {1, 3}) {
    INFO("batch ", batch);
    CHECK(op_gradient_error(OpKind::LayerNorm, {param({B, 5}), param({5}), param({5})},
                            Attrs{{"axes", Axes{1}}}, batch) < kTol);
    CHECK(op_gradient_error(OpKind::LayerNorm, {param({B, 3, 5}), param({3, 5}), param({3, 5})},
                            Attrs{{"axes", Axes{1, 2}}, {"eps", 1e-3}}, batch) < kTol);
  }
}
