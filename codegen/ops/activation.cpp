// softmax and log_softmax along one axis {axis = -1}: two stages over the
// lines (the value's shape without the axis), the line max m and
// s = sum_j e^(x_j - m), then a pure Func per element:
//   softmax     y_j = e^(x_j - m) / s
//   log_softmax y_j = (x_j - m) - log s
// Subtracting m keeps every exponent <= 0 (ir/ops/activation.cpp).
#include "codegen/ops/lines.h"

#include "ir/ops/common.h"

namespace netc::codegen {

namespace {

using Halide::Expr;

Lowered lower_softmax(const LowerCtx& ctx) {
  int axis = normalize_axis(ctx.node.attrs.get_int("axis", -1), ctx.out());
  LineStats s = line_stats(ctx, axis);
  Halide::Func y = pure_func(ctx.name(), ctx.out().shape.rank(), [&](const Index& i) {
    Index l = line_of(i, axis);
    return ieee_exp(at(ctx.in[0], i) - at(s.max, l)) / at(s.sum, l);
  });
  return {y, s.stages};
}

Lowered lower_log_softmax(const LowerCtx& ctx) {
  int axis = normalize_axis(ctx.node.attrs.get_int("axis", -1), ctx.out());
  LineStats s = line_stats(ctx, axis);
  Halide::Func y = pure_func(ctx.name(), ctx.out().shape.rank(), [&](const Index& i) {
    Index l = line_of(i, axis);
    return (at(ctx.in[0], i) - at(s.max, l)) - ieee_log(at(s.sum, l));
  });
  return {y, s.stages};
}

const OpLowering kActivationLowerings[] = {
    {OpKind::Softmax, lower_softmax},
    {OpKind::LogSoftmax, lower_log_softmax},
};

} // namespace

// An index of x with the axis coordinate removed (a line's index).
Index line_of(const Index& i, int axis) {
  Index l = i;
  l.erase(l.begin() + axis);
  return l;
}

LineStats line_stats(const LowerCtx& ctx, int axis) {
  const Shape& xs = ctx.in_types[0].shape;
  std::vector<int64_t> dims = xs.dims;
  dims.erase(dims.begin() + axis);
  Shape lines(dims);
  std::vector<Halide::Var> v = ir_vars(lines.rank());
  Index li = as_index(v);
  AxisRDom r = axis_rdom(xs, {axis}, ctx.batch(), ctx.name("r"));
  Index xi = li;
  xi.insert(xi.begin() + axis, r.vars[0]);
  Halide::Type t = halide_type(ctx.in_types[0].dtype);
  LineStats s{Halide::Func(ctx.name("max")), Halide::Func(ctx.name("sum")), {}};
  // Starting from the lowest finite value rather than -inf: Halide's code
  // generation assumes finite floats.
  define(s.max, v, t.min());
  define(s.max, v, max_nan(at(s.max, li), at(ctx.in[0], xi)));
  define(s.sum, v, constant(t, 0));
  define(s.sum, v, at(s.sum, li) + ieee_exp(at(ctx.in[0], xi) - at(s.max, li)));
  s.stages = {{s.max, lines}, {s.sum, lines}};
  return s;
}

std::span<const OpLowering> activation_lowerings() { return kActivationLowerings; }

} // namespace netc::codegen
