// Elementwise ops: y = f(x) and z = f(x, y) with numpy broadcasting, as pure
// Funcs that the schedule inlines into their consumers. The formulas follow
// ir/ops/elementwise.cpp, including its numerically careful forms (sigmoid
// through e^-|x|, elu through an accurate expm1).
#include "codegen/lowering.h"
#include "codegen/vector_math.h"

#include <cmath>
#include <numbers>

namespace netc::codegen {

namespace {

using Halide::Expr;

template <class F>
Lowered map_unary(const LowerCtx& ctx, F f) {
  const Halide::Func& x = ctx.in[0];
  return {
      pure_func(ctx.name(), ctx.out().shape.rank(), [&](const Index& i) { return f(at(x, i)); })};
}

// z[i] = f(x[bx(i)], y[by(i)]), bx and by the broadcast maps of ir/ops/common.h.
template <class F>
Lowered map_binary(const LowerCtx& ctx, F f) {
  const Shape& out = ctx.out().shape;
  return {pure_func(ctx.name(), out.rank(), [&](const Index& i) {
    return f(at(ctx.in[0], broadcast_index(ctx.in_types[0].shape, out, i)),
             at(ctx.in[1], broadcast_index(ctx.in_types[1].shape, out, i)));
  })};
}

Expr zero_like(const Expr& x) { return constant(x.type(), 0); }

// e^x - 1 without losing the digits of small |x| (Kahan's trick): with
// u = e^x rounded, (u - 1) x / log(u) cancels the rounding error of u.
Expr expm1(const Expr& x) {
  Expr u = ieee_exp(x), um1 = u - 1;
  return Halide::select(u == 1, x, um1 == -1, constant(x.type(), -1), um1 * x / ieee_log(u));
}

Lowered lower_neg(const LowerCtx& c) {
  return map_unary(c, [](Expr x) { return -x; });
}
Lowered lower_exp(const LowerCtx& c) {
  return map_unary(c, [](Expr x) { return ieee_exp(x); });
}
Lowered lower_log(const LowerCtx& c) {
  return map_unary(c, [](Expr x) { return ieee_log(x); });
}
Lowered lower_sqrt(const LowerCtx& c) {
  return map_unary(c, [](Expr x) { return Halide::sqrt(x); });
}
Lowered lower_abs(const LowerCtx& c) {
  return map_unary(c, [](Expr x) { return Halide::abs(x); });
}
Lowered lower_relu(const LowerCtx& c) {
  // x > 0 ? x : 0, as the reference writes it (a NaN gives 0).
  return map_unary(c, [](Expr x) { return Halide::select(x > zero_like(x), x, zero_like(x)); });
}
Lowered lower_leaky_relu(const LowerCtx& c) {
  double alpha = c.node.attrs.get_float("alpha", 0.01);
  return map_unary(c, [alpha](Expr x) {
    return Halide::select(x > zero_like(x), x, constant(x.type(), alpha) * x);
  });
}
Lowered lower_elu(const LowerCtx& c) {
  double alpha = c.node.attrs.get_float("alpha", 1.0);
  return map_unary(c, [alpha](Expr x) {
    return Halide::select(x > zero_like(x), x, constant(x.type(), alpha) * expm1(x));
  });
}
// sigmoid: with e = e^-|x| (never overflows), 1/(1+e) for x >= 0, e/(1+e) below.
Lowered lower_sigmoid(const LowerCtx& c) {
  return map_unary(c, [](Expr x) {
    Expr e = ieee_exp(-Halide::abs(x)), one = constant(x.type(), 1);
    return Halide::select(x >= zero_like(x), one, e) / (one + e);
  });
}
// f32 tanh is codegen/vector_math's polynomial form: Halide's calls libm per lane.
Expr tanh_of(const Expr& x) {
  return x.type() == Halide::Float(32) ? tanh_f32(x) : Halide::tanh(x);
}

Lowered lower_tanh(const LowerCtx& c) {
  return map_unary(c, [](Expr x) { return tanh_of(x); });
}

// step: [x > 0], the derivative of relu.
Lowered lower_step(const LowerCtx& c) {
  return map_unary(c, [](Expr x) {
    return Halide::select(x > zero_like(x), constant(x.type(), 1), zero_like(x));
  });
}

// erf: Halide 14's own erf for f32 (a vectorizable polynomial, "accurate up
// to the last three bits of the mantissa": an absolute error below 1e-6, which
// tests/codegen/elementwise_test.cpp checks against std::erf); Halide has none
// for f64, where libm's erf is called, as Halide's own f64 exp and log do.
Expr erf_of(const Expr& x) {
  if (x.type() == Halide::Float(32)) return Halide::erf(x);
  using Halide::Internal::Call;
  return Call::make(x.type(), "erf", {x}, Call::PureExtern);
}

Lowered lower_erf(const LowerCtx& c) {
  return map_unary(c, [](Expr x) { return erf_of(x); });
}

// gelu: x (1 + erf(x / sqrt 2)) / 2, or x (1 + tanh u) / 2 with
// u = sqrt(2 / pi) (x + 0.044715 x^3), as ir/ops/elementwise.cpp.
Lowered lower_gelu(const LowerCtx& c) {
  bool tanh_form = c.node.attrs.get_str("approximate", "none") == "tanh";
  return map_unary(c, [tanh_form](Expr x) {
    Halide::Type t = x.type();
    Expr half = constant(t, 0.5), one = constant(t, 1);
    if (tanh_form) {
      Expr u =
          constant(t, std::sqrt(2 / std::numbers::pi)) * (x + constant(t, 0.044715) * x * x * x);
      return half * x * (one + tanh_of(u));
    }
    return x * half * (one + erf_of(x * constant(t, 1 / std::numbers::sqrt2)));
  });
}

// relu6: x > 0 ? min(x, 6) : 0, the reference's selects (a NaN gives 0).
Expr relu6(const Expr& x) {
  Expr six = constant(x.type(), 6);
  return Halide::select(x > zero_like(x), Halide::select(x < six, x, six), zero_like(x));
}

Lowered lower_relu6(const LowerCtx& c) {
  return map_unary(c, [](Expr x) { return relu6(x); });
}
Lowered lower_hard_sigmoid(const LowerCtx& c) {
  return map_unary(c,
                   [](Expr x) { return relu6(x + constant(x.type(), 3)) / constant(x.type(), 6); });
}
Lowered lower_hard_swish(const LowerCtx& c) {
  return map_unary(
      c, [](Expr x) { return x * relu6(x + constant(x.type(), 3)) / constant(x.type(), 6); });
}

Lowered lower_add(const LowerCtx& c) {
  return map_binary(c, [](Expr x, Expr y) { return x + y; });
}
Lowered lower_sub(const LowerCtx& c) {
  return map_binary(c, [](Expr x, Expr y) { return x - y; });
}
Lowered lower_mul(const LowerCtx& c) {
  return map_binary(c, [](Expr x, Expr y) { return x * y; });
}
Lowered lower_div(const LowerCtx& c) {
  return map_binary(c, [](Expr x, Expr y) { return x / y; });
}
Lowered lower_pow(const LowerCtx& c) {
  return map_binary(c, [](Expr x, Expr y) { return ieee_pow(x, y); });
}
Lowered lower_maximum(const LowerCtx& c) {
  return map_binary(c, [](Expr x, Expr y) { return max_nan(x, y); });
}
Lowered lower_minimum(const LowerCtx& c) {
  return map_binary(c, [](Expr x, Expr y) { return min_nan(x, y); });
}

const OpLowering kElementwiseLowerings[] = {
    {OpKind::Neg, lower_neg},
    {OpKind::Exp, lower_exp},
    {OpKind::Log, lower_log},
    {OpKind::Sqrt, lower_sqrt},
    {OpKind::Abs, lower_abs},
    {OpKind::Relu, lower_relu},
    {OpKind::LeakyRelu, lower_leaky_relu},
    {OpKind::Elu, lower_elu},
    {OpKind::Sigmoid, lower_sigmoid},
    {OpKind::Tanh, lower_tanh},
    {OpKind::Step, lower_step},
    {OpKind::Erf, lower_erf},
    {OpKind::Gelu, lower_gelu},
    {OpKind::Relu6, lower_relu6},
    {OpKind::HardSigmoid, lower_hard_sigmoid},
    {OpKind::HardSwish, lower_hard_swish},
    {OpKind::Add, lower_add},
    {OpKind::Sub, lower_sub},
    {OpKind::Mul, lower_mul},
    {OpKind::Div, lower_div},
    {OpKind::Pow, lower_pow},
    {OpKind::Maximum, lower_maximum},
    {OpKind::Minimum, lower_minimum},
};

} // namespace

std::span<const OpLowering> elementwise_lowerings() { return kElementwiseLowerings; }

} // namespace netc::codegen
