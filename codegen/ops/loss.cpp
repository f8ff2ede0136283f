// Losses: scalar means as a final scalar stage `total` over the rows or
// elements, divided by the runtime count. Class labels arrive as an integer
// Func (i32/i64 in the IR); an out-of-range label, which the reference
// rejects, is clamped into [0, C) here: a kernel cannot throw.
#include "codegen/ops/lines.h"

namespace netc::codegen {

namespace {

using Halide::Expr;

Expr label_at(const Halide::Func& labels, const Index& i, int64_t classes) {
  return Halide::clamp(Halide::cast(Halide::Int(32), at(labels, i)), 0, int32_t(classes - 1));
}

// A scalar Func sum_{all elements e of shape s} term(index of e), plus its stage.
template <class F>
Halide::Func total_over(const LowerCtx& ctx, const Shape& s, F term, std::vector<Stage>& stages) {
  std::vector<int> axes;
  for (int a = 0; a < s.rank(); ++a) axes.push_back(a);
  Halide::Func total(ctx.name("total"));
  total() = constant(ctx.type(), 0);
  if (axes.empty()) {
    total() += term(Index{});
  } else {
    AxisRDom r = axis_rdom(s, axes, ctx.batch(), ctx.name("r"));
    total() += term(Index(r.vars.begin(), r.vars.end()));
  }
  stages.push_back({total, Shape{}});
  return total;
}

// ---- softmax_cross_entropy(logits [N,C], labels [N]) --------------------------
//   J = (1/N) sum_r (m_r - x_r[y_r]) + log s_r   (m, s: the line max and exp-sum)
Lowered lower_softmax_cross_entropy(const LowerCtx& ctx) {
  const Shape& xs = ctx.in_types[0].shape;
  LineStats s = line_stats(ctx, 1);
  Lowered out;
  out.stages = s.stages;
  Halide::Func total = total_over(
      ctx, Shape{xs[0]},
      [&](const Index& r) {
        Expr x = at(ctx.in[0], {r[0], label_at(ctx.in[1], r, xs[1])});
        return (at(s.max, r) - x) + ieee_log(at(s.sum, r));
      },
      out.stages);
  Halide::Func j(ctx.name());
  j() = total() / Halide::cast(ctx.type(), extent(xs, 0, ctx.batch()));
  out.value = j;
  return out;
}

// log(1 + y) without losing the digits of small y: with u = 1 + y rounded,
// log(u) y / (u - 1) cancels the rounding error of u (Goldberg's trick).
Expr log1p(const Expr& y) {
  Expr u = 1 + y;
  return Halide::select(u == 1, y, ieee_log(u) * (y / (u - 1)));
}

// ---- sigmoid_cross_entropy(logits, targets) -----------------------------------
//   J = mean over all elements of max(x, 0) - x t + log(1 + e^-|x|)
Lowered lower_sigmoid_cross_entropy(const LowerCtx& ctx) {
  const Shape& xs = ctx.in_types[0].shape;
  Lowered out;
  Halide::Func total = total_over(
      ctx, xs,
      [&](const Index& i) {
        Expr x = at(ctx.in[0], i), t = at(ctx.in[1], i);
        return Halide::max(x, constant(x.type(), 0)) - x * t + log1p(ieee_exp(-Halide::abs(x)));
      },
      out.stages);
  Halide::Func j(ctx.name());
  j() = total() / Halide::cast(ctx.type(), elements(xs, ctx.batch()));
  out.value = j;
  return out;
}

// ---- mse(pred, target): J = mean over all elements of (p - t)^2 ------------------
Lowered lower_mse(const LowerCtx& ctx) {
  const Shape& xs = ctx.in_types[0].shape;
  Lowered out;
  Halide::Func total = total_over(
      ctx, xs,
      [&](const Index& i) {
        Expr d = at(ctx.in[0], i) - at(ctx.in[1], i);
        return d * d;
      },
      out.stages);
  Halide::Func j(ctx.name());
  j() = total() / Halide::cast(ctx.type(), elements(xs, ctx.batch()));
  out.value = j;
  return out;
}

// ---- one_hot(labels) {num_classes, dtype}: out[..., j] = [labels[...] = j] ----------
Lowered lower_one_hot(const LowerCtx& ctx) {
  int64_t classes = ctx.node.attrs.get_int("num_classes");
  Halide::Type t = ctx.type();
  int rank = ctx.out().shape.rank();
  return {pure_func(ctx.name(), rank, [&](const Index& i) {
    Index row(i.begin(), i.end() - 1);
    return Halide::select(label_at(ctx.in[0], row, classes) == i.back(), constant(t, 1),
                          constant(t, 0));
  })};
}

const OpLowering kLossLowerings[] = {
    {OpKind::SoftmaxCrossEntropy, lower_softmax_cross_entropy},
    {OpKind::SigmoidCrossEntropy, lower_sigmoid_cross_entropy},
    {OpKind::Mse, lower_mse},
    {OpKind::OneHot, lower_one_hot},
};

} // namespace

std::span<const OpLowering> loss_lowerings() { return kLossLowerings; }

} // namespace netc::codegen
