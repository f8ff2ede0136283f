// Gradient rules of softmax and log_softmax against central differences in
// double (relative error < 1e-6): along the last, a middle, a negative and
// the batch axis, on large logits (where the max subtraction matters), at
// batch 1 and 3.
#include "grad_check.h"

using namespace netc;
using namespace netc::grad_test;

namespace {

constexpr int64_t B = kBatch;
constexpr double kTol = 1e-6;

struct Case {
  Shape shape;
  int64_t axis;
};

const Case kCases[] = {
    {{B, 5}, -1},    // class scores
    {{B, 5}, 1},     // the same, positive axis
    {{B, 3, 4}, 1},  // a middle axis
    {{B, 3, 4}, -2}, // the same, negative
    {{B, 4}, 0},     // along the batch
    {{3, B}, -1},    // along a trailing batch
    {{6}, 0},        // a static vector
};

} // namespace

TEST_CASE("grad: softmax and log_softmax along every kind of axis") {
  for (OpKind k : {OpKind::Softmax, OpKind::LogSoftmax})
    for (const Case& c : kCases)
      for (int64_t batch : {1, 3}) {
        int axis = static_cast<int>(c.axis < 0 ? c.axis + c.shape.rank() : c.axis);
        // Along a batch of 1 the output is constant (tested below).
        if (c.shape[axis] == B && batch == 1) continue;
        INFO(op_name(k), " of ", to_string(c.shape), " along ", c.axis, " at batch ", batch);
        CHECK(op_gradient_error(k, {param(c.shape)}, Attrs{{"axis", c.axis}}, batch) < kTol);
      }
}

TEST_CASE("grad: softmax and log_softmax of large logits") {
  Operand big = param({B, 6});
  big.offset = 500; // e^500 overflows double without the max subtraction
  for (OpKind k : {OpKind::Softmax, OpKind::LogSoftmax}) {
    INFO(op_name(k));
    CHECK(op_gradient_error(k, {big}, {}, 2) < kTol);
  }
}

TEST_CASE("grad: softmax and log_softmax default to the last axis") {
  CHECK(op_gradient_error(OpKind::Softmax, {param({B, 2, 3})}) < kTol);
  CHECK(op_gradient_error(OpKind::LogSoftmax, {param({B, 2, 3})}) < kTol);
}

TEST_CASE("grad: softmax over one class is constant, so its gradient is 0") {
  for (OpKind k : {OpKind::Softmax, OpKind::LogSoftmax}) {
    Graph g;
    GraphBuilder b(g);
    ValueId x = b.leaf(OpKind::Param, {DType::f32, Shape{B, 1}}, Attrs{{"name", "x"}});
    g.loss = NamedValue{"loss", b.op(OpKind::ReduceSum, {b.op(k, {x})}), {}};
    Differentiated d = differentiate(g);
    Tensor<double> xv({2, 1});
    xv.data = {0.3, -7};
    std::map<std::string, Tensor<double>> values{{"x", xv}};
    RefContext<double> ctx;
    ctx.batch = 2;
    ctx.values = &values;
    Tensor<double> dx = interpret(d.graph, ctx)[size_t(d.grads[0].value)];
    for (double v : dx.data) CHECK(v == doctest::Approx(0).epsilon(1e-15));
  }
}
