// Gradient rules of the reductions against central differences in double
// (relative error < 1e-6): over inner, outer, negative, batch and all axes,
// with keepdims both ways, the batch leading or not, at batch 1 and 3. Ties
// of reduce_max/min, which central differences cannot probe, are checked by
// value: tied extrema share the gradient.
#include "grad_check.h"

#include "ir/ops/common.h"

using namespace netc;
using namespace netc::grad_test;

namespace {

constexpr int64_t B = kBatch;
constexpr double kTol = 1e-6;

const OpKind kReductions[] = {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax,
                              OpKind::ReduceMin};

struct Case {
  Shape shape;
  std::vector<int64_t> axes; // empty: all
};

const Case kCases[] = {
    {{B, 3, 4}, {1}},     // an inner axis
    {{B, 3, 4}, {-1}},    // negative
    {{B, 3, 4}, {0}},     // the batch axis: the mean divides by the runtime extent
    {{B, 3, 4}, {0, 2}},  // the batch and another
    {{B, 3, 4}, {-2, 2}}, // two trailing axes, one negative
    {{B, 3, 4}, {}},      // everything
    {{3, B}, {1}},        // the batch, trailing
    {{3, B}, {0}},        // keep the trailing batch
    {{2, B, 3}, {0, 2}},  // leave only the batch
    {{5}, {0}},           // a static vector
};

Attrs reduce_attrs(const std::vector<int64_t>& axes, bool keepdims) {
  Attrs a{{"keepdims", int64_t(keepdims)}};
  if (!axes.empty()) a.set("axes", axes);
  return a;
}

// The gradient of loss = reduce(x) (a scalar) at concrete x, by the symbolic
// rule and the reference interpreter.
std::vector<double> gradient_at(OpKind kind, std::vector<int64_t> shape, std::vector<double> x,
                                const Attrs& attrs) {
  Graph g;
  GraphBuilder b(g);
  ValueId p = b.leaf(OpKind::Param, {DType::f32, Shape(shape)}, Attrs{{"name", "x"}});
  ValueId r = b.op(kind, {p}, attrs);
  ValueId w = b.leaf(OpKind::Input, g.node(r).type, Attrs{{"name", "w"}});
  g.loss = NamedValue{"loss", b.op(OpKind::ReduceSum, {b.op(OpKind::Mul, {r, w})}), {}};
  Differentiated d = differentiate(g);
  Tensor<double> xv(shape);
  xv.data = std::move(x);
  // Weight output o by o + 1, so each output's gradient is recognizable.
  Tensor<double> wv(g.node(r).type.shape.concrete(1));
  for (int64_t i = 0; i < wv.size(); ++i) wv[i] = double(i + 1);
  std::map<std::string, Tensor<double>> values{{"x", xv}, {"w", wv}};
  RefContext<double> ctx;
  ctx.values = &values;
  return interpret(d.graph, ctx)[size_t(d.grads[0].value)].data;
}

} // namespace

TEST_CASE("grad: reductions over every kind of axis set, keepdims both ways") {
  for (OpKind k : kReductions)
    for (const Case& c : kCases)
      for (bool keepdims : {false, true})
        for (int64_t batch : {1, 3}) {
          INFO(op_name(k), " of ", to_string(c.shape), " over ", list_string(c.axes), " keepdims ",
               keepdims, " at batch ", batch);
          CHECK(op_gradient_error(k, {param(c.shape)}, reduce_attrs(c.axes, keepdims), batch) <
                kTol);
        }
}

TEST_CASE("grad: reduce_mean of a scalar and of all axes at a larger batch") {
  CHECK(op_gradient_error(OpKind::ReduceMean, {param({})}) < kTol);
  CHECK(op_gradient_error(OpKind::ReduceMean, {param({B, 2})}, {}, 7) < kTol);
  CHECK(op_gradient_error(OpKind::ReduceSum, {param({B, 2})}, {}, 7) < kTol);
}

TEST_CASE("grad: reduce_mean divides by the runtime batch extent") {
  // The mean over the batch of [batch,2] is [2]; the loss sums it, so
  // d loss/dx_i = 1/6 for 6 rows: the count is read at run time.
  Graph h;
  GraphBuilder hb(h);
  ValueId q = hb.leaf(OpKind::Param, {DType::f32, Shape{B, 2}}, Attrs{{"name", "x"}});
  ValueId mean = hb.op(OpKind::ReduceMean, {q}, Attrs{{"axes", std::vector<int64_t>{0}}});
  h.loss = NamedValue{"loss", hb.op(OpKind::ReduceSum, {mean}), {}};
  Differentiated d = differentiate(h);
  Tensor<double> xv({6, 2}, 1.0);
  std::map<std::string, Tensor<double>> values{{"x", xv}};
  RefContext<double> ctx;
  ctx.batch = 6;
  ctx.values = &values;
  Tensor<double> dx = interpret(d.graph, ctx)[size_t(d.grads[0].value)];
  for (double v : dx.data) CHECK(v == doctest::Approx(1.0 / 6));
}

TEST_CASE("grad: reduce_max and reduce_min route the gradient to the extremum") {
  Attrs rows{{"axes", std::vector<int64_t>{1}}};
  // Row 0's max is at 1, row 1's at 2; output weights are 1 and 2.
  CHECK(gradient_at(OpKind::ReduceMax, {2, 3}, {1, 5, 2, -1, -3, 0}, rows) ==
        std::vector<double>{0, 1, 0, 0, 0, 2});
  CHECK(gradient_at(OpKind::ReduceMin, {2, 3}, {1, 5, 2, -1, -3, 0}, rows) ==
        std::vector<double>{1, 0, 0, 0, 2, 0});
}

TEST_CASE("grad: tied extrema share the gradient evenly") {
  Attrs rows{{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t(1)}};
  CHECK(gradient_at(OpKind::ReduceMax, {2, 4}, {3, 1, 3, 3, 0, 7, 7, 2}, rows) ==
        std::vector<double>{1.0 / 3, 0, 1.0 / 3, 1.0 / 3, 0, 1, 1, 0});
  CHECK(gradient_at(OpKind::ReduceMin, {4}, {2, 2, 2, 2}, {}) ==
        std::vector<double>{0.25, 0.25, 0.25, 0.25});
}
