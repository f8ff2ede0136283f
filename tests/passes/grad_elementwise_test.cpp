// Gradient rules of the elementwise family against central differences in
// double (relative error < 1e-6): every unary op on shapes with the batch
// leading, trailing and absent; every binary op on broadcasting pairs, where
// each operand's gradient must be summed back to its own shape. Also: step
// passes no gradient, and f64 graphs differentiate too.
#include "grad_check.h"

#include "ir/gradient.h"

using namespace netc;
using namespace netc::grad_test;

namespace {

constexpr int64_t B = kBatch;
constexpr double kTol = 1e-6;

Operand offset_param(Shape s, double offset) {
  Operand o = param(std::move(s));
  o.offset = offset;
  return o;
}

Operand f64(Operand o) {
  o.is_f64 = true;
  return o;
}

const Shape kUnaryShapes[] = {Shape{B, 3}, Shape{3, B}, Shape{2, B, 4}, Shape{5}, Shape{}};

// Checks a unary op on every shape of kUnaryShapes at batch 1 and 3.
void check_unary(OpKind kind, Operand (*make)(Shape), const Attrs& attrs = {}) {
  for (const Shape& s : kUnaryShapes)
    for (int64_t batch : {1, 3}) {
      INFO(op_name(kind), " on ", to_string(s), " at batch ", batch);
      CHECK(op_gradient_error(kind, {make(s)}, attrs, batch) < kTol);
    }
}

// Shape pairs that broadcast: equal, a trailing vector, a stretched 1, a
// missing leading dimension, a scalar, and the batch away from axis 0.
struct Pair {
  Shape a, b;
};
const Pair kPairs[] = {
    {{B, 2, 3}, {B, 2, 3}}, {{B, 3}, {3}},    {{B, 1}, {B, 4}},    {{1}, {B, 2, 3}},
    {{}, {B, 3}},           {{3, B}, {3, 1}}, {{2, 1, 4}, {3, 1}}, {{1, 3}, {B, 3}},
};

// Checks a binary op on every pair of kPairs (both orders) at batch 1 and 2;
// make_a and make_b draw the operands.
void check_binary(OpKind kind, Operand (*make_a)(Shape), Operand (*make_b)(Shape)) {
  for (const Pair& p : kPairs)
    for (bool swap : {false, true})
      for (int64_t batch : {1, 2}) {
        const Shape& a = swap ? p.b : p.a;
        const Shape& b = swap ? p.a : p.b;
        INFO(op_name(kind), " on ", to_string(a), " and ", to_string(b), " at batch ", batch);
        CHECK(op_gradient_error(kind, {make_a(a), make_b(b)}, {}, batch) < kTol);
      }
}

} // namespace

// ---- Unary ops ------------------------------------------------------------------

TEST_CASE("grad: neg, exp, tanh, sigmoid") {
  check_unary(OpKind::Neg, param);
  check_unary(OpKind::Exp, param);
  check_unary(OpKind::Tanh, param);
  check_unary(OpKind::Sigmoid, param);
  // Saturated sigmoid: y (1 - y) stays accurate far from 0.
  CHECK(op_gradient_error(OpKind::Sigmoid, {offset_param({B, 4}, 6)}, {}, 2) < kTol);
  CHECK(op_gradient_error(OpKind::Sigmoid, {offset_param({B, 4}, -6)}, {}, 2) < kTol);
}

TEST_CASE("grad: log and sqrt on positive inputs") {
  check_unary(OpKind::Log, positive_param);
  check_unary(OpKind::Sqrt, positive_param);
}

// Normal samples: both signs, none within 1e-6 of the kink at 0 for these
// seeds (a sample that close would fail the check, not pass it wrongly).
TEST_CASE("grad: abs, relu, leaky_relu, elu on both sides of 0") {
  check_unary(OpKind::Abs, param);
  check_unary(OpKind::Relu, param);
  check_unary(OpKind::LeakyRelu, param);
  check_unary(OpKind::LeakyRelu, param, Attrs{{"alpha", 0.2}});
  check_unary(OpKind::Elu, param);
  check_unary(OpKind::Elu, param, Attrs{{"alpha", 0.5}});
  // Inputs all on one side (relu's gradient is all 0 on the negative side).
  for (OpKind k : {OpKind::Relu, OpKind::LeakyRelu, OpKind::Elu, OpKind::Abs}) {
    INFO(op_name(k));
    CHECK(op_gradient_error(k, {positive_param({B, 5})}) < kTol);
    if (k != OpKind::Relu) CHECK(op_gradient_error(k, {offset_param({B, 5}, -4)}) < kTol);
  }
}

TEST_CASE("grad: erf, gelu (both forms), relu6, hard_sigmoid, hard_swish") {
  check_unary(OpKind::Erf, param);
  check_unary(OpKind::Gelu, param);
  check_unary(OpKind::Gelu, param, Attrs{{"approximate", std::string("tanh")}});
  // Scaled past the kinks at -3, 0, 3 and 6 with an offset.
  check_unary(OpKind::Relu6, param);
  CHECK(op_gradient_error(OpKind::Relu6, {offset_param({B, 5}, 5.5)}) < kTol);
  check_unary(OpKind::HardSigmoid, param);
  check_unary(OpKind::HardSwish, param);
  CHECK(op_gradient_error(OpKind::HardSwish, {offset_param({B, 5}, 3.5)}) < kTol);
  CHECK(op_gradient_error(OpKind::HardSwish, {offset_param({B, 5}, -3.5)}) < kTol);
}

TEST_CASE("grad: step passes no gradient / its params get an explicit zero") {
  bool none = op_def(OpKind::Step).grad == &no_gradient;
  CHECK(none);
  Graph g;
  GraphBuilder b(g);
  ValueId x = b.leaf(OpKind::Param, {DType::f32, Shape{B, 3}}, Attrs{{"name", "x"}});
  ValueId s = b.op(OpKind::ReduceSum, {b.op(OpKind::Step, {x})});
  g.loss = NamedValue{"loss", s, {}};
  Differentiated d = differentiate(g);
  REQUIRE(d.grads.size() == 1);
  std::map<std::string, Tensor<double>> values{{"x", Tensor<double>({2, 3}, 0.5)}};
  RefContext<double> ctx;
  ctx.batch = 2;
  ctx.values = &values;
  Tensor<double> dx = interpret(d.graph, ctx)[size_t(d.grads[0].value)];
  CHECK(dx.shape == std::vector<int64_t>{2, 3});
  for (double v : dx.data) CHECK(v == 0);
}

// ---- Binary ops -----------------------------------------------------------------

TEST_CASE("grad: add, sub, mul sum each gradient back over its broadcast axes") {
  check_binary(OpKind::Add, param, param);
  check_binary(OpKind::Sub, param, param);
  check_binary(OpKind::Mul, param, param);
}

TEST_CASE("grad: div, with the divisor away from 0") {
  check_binary(OpKind::Div, param, positive_param);
  Operand negative = offset_param({B, 3}, -3);
  CHECK(op_gradient_error(OpKind::Div, {param({3}), negative}) < kTol);
}

TEST_CASE("grad: pow, base positive, exponent of either sign") {
  check_binary(OpKind::Pow, positive_param, param);
  // A runtime-scalar exponent: only the base has a gradient.
  CHECK(op_gradient_error(OpKind::Pow, {positive_param({B, 3}), hyper(2.5)}) < kTol);
  CHECK(op_gradient_error(OpKind::Pow, {positive_param({B, 3}), hyper(-1.0)}) < kTol);
  // An integer exponent on a negative base: a^(b-1) is well defined there.
  CHECK(op_gradient_error(OpKind::Pow, {offset_param({B, 3}, -3), hyper(3.0)}) < kTol);
}

TEST_CASE("grad: maximum and minimum route the gradient to the larger/smaller operand") {
  check_binary(OpKind::Maximum, param, param);
  check_binary(OpKind::Minimum, param, param);
}

TEST_CASE("grad: maximum(x, 0) differentiates like relu, a tie going to the 0") {
  Graph g;
  GraphBuilder b(g);
  ValueId x = b.leaf(OpKind::Param, {DType::f32, Shape{4}}, Attrs{{"name", "x"}});
  ValueId m = b.op(OpKind::Maximum, {x, b.constant(0)});
  g.loss = NamedValue{"loss", b.op(OpKind::ReduceSum, {m}), {}};
  Differentiated d = differentiate(g);
  Tensor<double> xv({4});
  xv.data = {-1, 0, 2, 0.5};
  std::map<std::string, Tensor<double>> values{{"x", xv}};
  RefContext<double> ctx;
  ctx.values = &values;
  Tensor<double> dx = interpret(d.graph, ctx)[size_t(d.grads[0].value)];
  CHECK(dx.data == std::vector<double>{0, 0, 1, 1});
}

// ---- f64 graphs -------------------------------------------------------------------

TEST_CASE("grad: f64 graphs get f64 constants and batch extents") {
  CHECK(op_gradient_error(OpKind::Sigmoid, {f64(param({B, 3}))}) < kTol);
  CHECK(op_gradient_error(OpKind::Sqrt, {f64(positive_param({B, 3}))}) < kTol);
  CHECK(op_gradient_error(OpKind::Mul, {f64(param({B, 3})), f64(param({3}))}) < kTol);
  CHECK(op_gradient_error(OpKind::ReduceMean, {f64(param({B, 3}))}) < kTol);
  CHECK(op_gradient_error(OpKind::Mse, {f64(param({B, 3})), f64(param({B, 3}))}) < kTol);
}
