// The elementwise family: type rules, numpy broadcasting with the batch
// dimension (and its rejections, which name both shapes), reference values in
// float and double, and FLOPs.
#include "op_test_helpers.h"

#include <cmath>
#include <limits>

using namespace netc;
using namespace netc::op_test;

namespace {

const OpKind kUnary[] = {OpKind::Neg,     OpKind::Exp,  OpKind::Log,       OpKind::Sqrt,
                         OpKind::Abs,     OpKind::Relu, OpKind::LeakyRelu, OpKind::Elu,
                         OpKind::Sigmoid, OpKind::Tanh};
const OpKind kBinary[] = {OpKind::Add, OpKind::Sub,     OpKind::Mul,    OpKind::Div,
                          OpKind::Pow, OpKind::Maximum, OpKind::Minimum};

const std::vector<double> kX = {-2, -0.5, 0, 0.5, 3};

// Applies f to each of kX: the expected values of a unary op.
template <class F>
std::vector<double> expect(F f) {
  std::vector<double> out;
  for (double x : kX) out.push_back(f(x));
  return out;
}

template <class T>
void check_unary(OpKind kind, const std::vector<double>& want, const Attrs& attrs = {}) {
  INFO(op_name(kind));
  check_values(run<T>(kind, {{Shape{B}, kX}}, attrs, 5), {5}, want);
}

} // namespace

TEST_CASE("elementwise: unary ops keep the input type, batch included") {
  for (OpKind k : kUnary) {
    INFO(op_name(k));
    CHECK(out_type(k, {f32({B, 3})}) == f32({B, 3}));
    CHECK(out_type(k, {f64({2, B, 4})}) == f64({2, B, 4}));
    CHECK(out_type(k, {f32({})}) == f32({}));
  }
}

TEST_CASE("elementwise: unary ops reject integer inputs") {
  std::string e = build_error(OpKind::Exp, {i32({B, 3})});
  CHECK(contains(e, "exp: input must be a float tensor (f32 or f64), found i32[batch,3]"));
  CHECK(!contains(e, "exp: exp:"));
}

TEST_CASE("elementwise: alpha must be a number") {
  CHECK(out_type(OpKind::Elu, {f32({B})}, {{"alpha", int64_t(2)}}) == f32({B}));
  std::string e = build_error(OpKind::LeakyRelu, {f32({B})}, {{"alpha", std::string("x")}});
  CHECK(contains(e, "leaky_relu: attribute 'alpha' must be a number"));
}

TEST_CASE("elementwise: binary ops broadcast right-aligned") {
  auto shape = [](Shape a, Shape b) { return out_type(OpKind::Add, {f32(a), f32(b)}).shape; };
  CHECK(shape({B, 10}, {10}) == Shape{B, 10});
  CHECK(shape({10}, {B, 10}) == Shape{B, 10});
  CHECK(shape({B, 1, 4}, {3, 1}) == Shape{B, 3, 4});
  CHECK(shape({B, 3}, {B, 3}) == Shape{B, 3});
  CHECK(shape({B, 3}, {1, 3}) == Shape{B, 3}); // a 1 broadcasts against the batch
  CHECK(shape({1, 3}, {B, 1}) == Shape{B, 3});
  CHECK(shape({}, {B, 3}) == Shape{B, 3});
  CHECK(shape({2, 3}, {}) == Shape{2, 3});
  for (OpKind k : kBinary) {
    INFO(op_name(k));
    CHECK(out_type(k, {f64({B, 1}), f64({5})}) == f64({B, 5}));
  }
}

TEST_CASE("elementwise: broadcasting errors name both shapes") {
  std::string e = build_error(OpKind::Add, {f32({B, 10}), f32({5})});
  CHECK(contains(e, "add: cannot broadcast f32[batch,10] with f32[5]"));
  // The batch only equals itself: a static 4 does not match it.
  e = build_error(OpKind::Mul, {f32({B, 3}), f32({4, 3})});
  CHECK(contains(e, "mul: cannot broadcast f32[batch,3] with f32[4,3]"));
  e = build_error(OpKind::Sub, {f32({B, 10}), f64({10})});
  CHECK(contains(e, "sub: inputs must have the same dtype, found f32[batch,10] and f64[10]"));
  e = build_error(OpKind::Div, {f32({3}), i32({3})});
  CHECK(contains(e, "div: the second input must be a float tensor (f32 or f64), found i32[3]"));
}

TEST_CASE_TEMPLATE("elementwise: unary references", T, float, double) {
  check_unary<T>(OpKind::Neg, expect([](double x) { return -x; }));
  check_unary<T>(OpKind::Exp, expect([](double x) { return std::exp(x); }));
  check_unary<T>(OpKind::Abs, {2, 0.5, 0, 0.5, 3});
  check_unary<T>(OpKind::Relu, {0, 0, 0, 0.5, 3});
  check_unary<T>(OpKind::LeakyRelu, {-0.02, -0.005, 0, 0.5, 3});
  check_unary<T>(OpKind::LeakyRelu, {-0.4, -0.1, 0, 0.5, 3}, {{"alpha", 0.2}});
  check_unary<T>(OpKind::Elu, {std::exp(-2.0) - 1, std::exp(-0.5) - 1, 0, 0.5, 3});
  check_unary<T>(OpKind::Elu, {2 * (std::exp(-2.0) - 1), 2 * (std::exp(-0.5) - 1), 0, 0.5, 3},
                 {{"alpha", 2.0}});
  check_unary<T>(OpKind::Sigmoid, expect([](double x) { return 1 / (1 + std::exp(-x)); }));
  check_unary<T>(OpKind::Tanh, expect([](double x) { return std::tanh(x); }));

  std::vector<double> pos = {0.25, 1, 4, 9};
  check_values(run<T>(OpKind::Sqrt, {{Shape{B, 2}, pos}}, {}, 2), {2, 2}, {0.5, 1, 2, 3});
  check_values(run<T>(OpKind::Log, {{Shape{B, 2}, pos}}, {}, 2), {2, 2},
               {std::log(0.25), 0, std::log(4.0), std::log(9.0)});
}

TEST_CASE_TEMPLATE("elementwise: sigmoid stays finite for large |x|", T, float, double) {
  Tensor<T> y = run<T>(OpKind::Sigmoid, {{Shape{4}, {-1000, -80, 80, 1000}}});
  for (T v : y.data) CHECK(std::isfinite(v));
  CHECK(y[0] == T(0));
  CHECK(y[1] == doctest::Approx(std::exp(-80.0)).epsilon(1e-5));
  CHECK(y[2] == T(1));
  CHECK(y[3] == T(1));
}

TEST_CASE_TEMPLATE("elementwise: binary references broadcast", T, float, double) {
  // [batch,3] (+) [3] at batch 2: the row is added to each example.
  Arg x{Shape{B, 3}, {1, 2, 3, 4, 5, 6}};
  Arg row{Shape{3}, {10, 20, 30}};
  check_values(run<T>(OpKind::Add, {x, row}, {}, 2), {2, 3}, {11, 22, 33, 14, 25, 36});
  check_values(run<T>(OpKind::Sub, {row, x}, {}, 2), {2, 3}, {9, 18, 27, 6, 15, 24});
  // [batch,1] (*) [1,3]: an outer product.
  Arg col{Shape{B, 1}, {2, -1}};
  Arg r13{Shape{1, 3}, {1, 2, 3}};
  check_values(run<T>(OpKind::Mul, {col, r13}, {}, 2), {2, 3}, {2, 4, 6, -1, -2, -3});
  // A scalar against a batch.
  Arg half{Shape{}, {0.5}};
  check_values(run<T>(OpKind::Div, {x, half}, {}, 2), {2, 3}, {2, 4, 6, 8, 10, 12});
  check_values(run<T>(OpKind::Div, {half, x}, {}, 2), {2, 3},
               {0.5, 0.25, 0.5 / 3, 0.125, 0.1, 0.5 / 6});
  check_values(run<T>(OpKind::Pow, {x, Arg{Shape{1}, {2}}}, {}, 2), {2, 3}, {1, 4, 9, 16, 25, 36});
  check_values(run<T>(OpKind::Pow, {Arg{Shape{}, {2}}, r13}), {1, 3}, {2, 4, 8});
  Arg mid{Shape{3}, {2, 5, 3.5}};
  check_values(run<T>(OpKind::Maximum, {x, mid}, {}, 2), {2, 3}, {2, 5, 3.5, 4, 5, 6});
  check_values(run<T>(OpKind::Minimum, {x, mid}, {}, 2), {2, 3}, {1, 2, 3, 2, 5, 3.5});
}

TEST_CASE_TEMPLATE("elementwise: batch 1 against a static 1", T, float, double) {
  // [batch,3] + [1,3] at batch 1, and [batch,1] + [batch,3]: the batch
  // extent 1 must not be confused with a broadcast dimension.
  Arg x{Shape{B, 3}, {1, 2, 3}};
  check_values(run<T>(OpKind::Add, {x, Arg{Shape{1, 3}, {1, 1, 1}}}, {}, 1), {1, 3}, {2, 3, 4});
  check_values(run<T>(OpKind::Add, {Arg{Shape{B, 1}, {10}}, x}, {}, 1), {1, 3}, {11, 12, 13});
  check_values(run<T>(OpKind::Add,
                      {Arg{Shape{B, 1}, {10, 20}}, Arg{Shape{B, 3}, {1, 2, 3, 4, 5, 6}}}, {}, 2),
               {2, 3}, {11, 12, 13, 24, 25, 26});
}

TEST_CASE_TEMPLATE("elementwise: maximum and minimum propagate NaN", T, float, double) {
  double nan = std::numeric_limits<double>::quiet_NaN();
  Arg a{Shape{2}, {nan, 1}};
  Arg b{Shape{2}, {1, nan}};
  for (OpKind k : {OpKind::Maximum, OpKind::Minimum}) {
    Tensor<T> y = run<T>(k, {a, b});
    CHECK(std::isnan(y[0]));
    CHECK(std::isnan(y[1]));
  }
}

TEST_CASE("elementwise: one FLOP per output element of one example") {
  CHECK(flops(OpKind::Exp, {f32({B, 3, 4})}) == 12);
  CHECK(flops(OpKind::Add, {f32({B, 10}), f32({10})}) == 10);
  CHECK(flops(OpKind::Mul, {f32({B, 1}), f32({1, 5})}) == 5);
  CHECK(flops(OpKind::Sigmoid, {f32({})}) == 1);
}
