// Elementwise kernels against the reference: every unary op over a batch of
// rows and of images, every binary op with numpy broadcasting. Tolerances:
// exact ops (neg, abs, relu, step, add...) agree to rounding; transcendental
// ones to a few ulps, so rtol 1e-6 or 1e-5 as stated per case. f32 exp and
// tanh are codegen/vector_math's polynomials (libm's in the reference); the
// "whole range" cases hold them to 3 ulps from overflow to subnormals.
#include "cg_test_helpers.h"

using namespace netc;
using namespace netc::cg_test;

namespace {

const Tol kExact{0, 0};
const Tol kUlps{1e-7, 2e-6};
// 3 ulps of the result (2^-23 relative each), and a few subnormal steps.
const Tol kThreeUlps{1e-44, 3.6e-7};

void unary(OpKind k, Fill fill, Tol tol, Attrs attrs = {}) {
  check_op(k, {{f32({B, 37}), fill}}, attrs, tol);
  check_op(k, {{f32({B, 3, 5, 17}), fill}}, attrs, tol, {.batches = {1, 7}});
}

} // namespace

TEST_CASE("unary elementwise ops") {
  Fill any = uniform(-3, 3), positive = uniform(0.05, 5);
  SUBCASE("neg") { unary(OpKind::Neg, any, kExact); }
  SUBCASE("exp") { unary(OpKind::Exp, uniform(-20, 20), kUlps); }
  SUBCASE("exp over the whole f32 range: inf above 88.72, subnormals, 0 below -103.97") {
    unary(OpKind::Exp, uniform(-110, 95), kThreeUlps);
    unary(OpKind::Exp, uniform(-1e-4, 1e-4), kThreeUlps);
  }
  SUBCASE("tanh over the whole f32 range: near 0, around the switch at 0.625, saturated") {
    unary(OpKind::Tanh, uniform(-1e-3, 1e-3), kThreeUlps);
    unary(OpKind::Tanh, uniform(0.55, 0.7), kThreeUlps);
    unary(OpKind::Tanh, uniform(-0.7, -0.55), kThreeUlps);
    unary(OpKind::Tanh, uniform(-60, 60), kThreeUlps);
  }
  SUBCASE("sigmoid far out") { unary(OpKind::Sigmoid, uniform(-120, 120), kThreeUlps); }
  SUBCASE("log") { unary(OpKind::Log, positive, kUlps); }
  SUBCASE("sqrt") { unary(OpKind::Sqrt, positive, kUlps); }
  SUBCASE("abs") { unary(OpKind::Abs, any, kExact); }
  SUBCASE("relu") { unary(OpKind::Relu, any, kExact); }
  SUBCASE("leaky_relu") {
    unary(OpKind::LeakyRelu, any, kExact);
    unary(OpKind::LeakyRelu, any, kExact, Attrs{{"alpha", 0.2}});
  }
  SUBCASE("elu") {
    unary(OpKind::Elu, any, kUlps);
    unary(OpKind::Elu, uniform(-1e-3, 1e-3), kUlps, Attrs{{"alpha", 0.5}}); // expm1 near 0
  }
  SUBCASE("sigmoid") { unary(OpKind::Sigmoid, uniform(-30, 30), kUlps); }
  SUBCASE("tanh") { unary(OpKind::Tanh, uniform(-5, 5), kUlps); }
  SUBCASE("step") { unary(OpKind::Step, any, kExact); }
  // Halide's f32 erf against std::erf: absolute error below 1e-6.
  SUBCASE("erf") { unary(OpKind::Erf, uniform(-4, 4), {1e-6, 0}); }
  SUBCASE("gelu") {
    unary(OpKind::Gelu, uniform(-5, 5), {1e-6, 2e-6});
    unary(OpKind::Gelu, uniform(-5, 5), {1e-6, 2e-6}, Attrs{{"approximate", std::string("tanh")}});
  }
  SUBCASE("relu6, hard_sigmoid, hard_swish") {
    unary(OpKind::Relu6, uniform(-3, 9), kExact);
    unary(OpKind::HardSigmoid, uniform(-5, 5), kUlps);
    unary(OpKind::HardSwish, uniform(-5, 5), kUlps);
  }
}

TEST_CASE("binary elementwise ops broadcast") {
  Fill any = uniform(-3, 3);
  SUBCASE("add: rows + bias") { check_op(OpKind::Add, {{f32({B, 37})}, {f32({37})}}, {}, kExact); }
  SUBCASE("sub: [batch,1,5] - [3,1] -> [batch,3,5]") {
    check_op(OpKind::Sub, {{f32({B, 1, 5})}, {f32({3, 1})}}, {}, kExact);
  }
  SUBCASE("mul: same shapes, images") {
    check_op(OpKind::Mul, {{f32({B, 4, 6, 6})}, {f32({B, 4, 6, 6})}}, {}, kUlps);
  }
  SUBCASE("mul: per-channel scale [4,1,1]") {
    check_op(OpKind::Mul, {{f32({B, 4, 6, 6})}, {f32({4, 1, 1})}}, {}, kUlps);
  }
  SUBCASE("div: by a positive row") {
    check_op(OpKind::Div, {{f32({B, 20}), any}, {f32({20}), uniform(0.5, 3)}}, {}, kUlps);
  }
  SUBCASE("pow") {
    check_op(OpKind::Pow, {{f32({B, 7}), uniform(0.1, 3)}, {f32({B, 7}), any}}, {}, {1e-6, 1e-5});
  }
  SUBCASE("maximum / minimum against a broadcast row") {
    check_op(OpKind::Maximum, {{f32({B, 33})}, {f32({1, 33})}}, {}, kExact);
    check_op(OpKind::Minimum, {{f32({B, 33})}, {f32({1, 33})}}, {}, kExact);
  }
  SUBCASE("a scalar against a batch") {
    check_op(OpKind::Add, {{f32({})}, {f32({B, 5})}}, {}, kExact);
  }
  SUBCASE("the batch as the innermost axis") {
    check_op(OpKind::Mul, {{f32({3, B})}, {f32({3, 1})}}, {}, kUlps);
  }
  SUBCASE("static shapes only (a parameter update)") {
    check_op(OpKind::Sub, {{f32({784, 256})}, {f32({784, 256})}}, {}, kExact);
  }
}
