// Losses: scalar means as a final scalar stage `total` over the rows or
// elements, divided by the runtime count. Class labels arrive as an integer
// Func (i32/i64 in the IR); an out-of-range label, which the reference
// rejects, is clamped into [0, C) here: a kernel cannot throw.
#include "codegen/ops/lines.h"

#include "ir/ops/cross_entropy.h"

#include <atomic>
#include <fmt/format.h>
#include <functional>

namespace netc::codegen {

namespace {

using Halide::Expr;

Expr label_at(const Halide::Func& labels, const Index& i, int64_t classes) {
  return Halide::clamp(Halide::cast(Halide::Int(32), at(labels, i)), 0, int32_t(classes - 1));
}

// The class weights w[c] of a cross-entropy op's options (ir/ops/cross_entropy.h)
// as a function of a class Expr. Given weights live in a constant table that
// the compiled code embeds; the class is clamped into [0, C) so that no
// schedule's rounded-up loop reads past it. Without weights: nullptr.
using ClassWeight = std::function<Expr(Expr)>;

template <class T>
Halide::Buffer<> weight_table(const std::vector<double>& w, const std::string& name) {
  Halide::Buffer<T> table(std::vector<int>{static_cast<int>(w.size())}, name);
  for (size_t c = 0; c < w.size(); ++c) table(static_cast<int>(c)) = static_cast<T>(w[c]);
  return table;
}

ClassWeight class_weights(const LowerCtx& ctx, const CrossEntropyOptions& opt) {
  if (!opt.weighted()) return nullptr;
  // The kernels of a program are linked into one library, where two tables
  // of one name would be one symbol: a process-wide counter keeps names apart.
  static std::atomic<int> tables{0};
  std::string name = fmt::format("{}_{}", ctx.name("weights"), tables++);
  Halide::Buffer<> table = ctx.type() == Halide::Float(64) ? weight_table<double>(opt.weights, name)
                                                           : weight_table<float>(opt.weights, name);
  auto last = static_cast<int32_t>(opt.weights.size() - 1);
  return [table, last](Expr c) { return table(Halide::clamp(c, 0, last)); };
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

// ---- softmax_cross_entropy(logits [N,C], labels [N]) {label_smoothing, weights} --
//   J = (1/N) sum_r (m_r - x_r[y_r]) + log s_r   (m, s: the line max and exp-sum)
// With options, nll_r(c) = (m_r - x_r[c]) + log s_r and
//   J = sum_r [(1 - s) w[y_r] nll_r(y_r) + (s/C) smooth_r] / sum_r w[y_r],
//   smooth_r = sum_c w[c] nll_r(c)          (a stage per row)
// the reference's sum, term for term.
Lowered lower_softmax_cross_entropy(const LowerCtx& ctx) {
  const Shape& xs = ctx.in_types[0].shape;
  CrossEntropyOptions opt = cross_entropy_options(ctx.node.attrs, xs[1]);
  ClassWeight weight = class_weights(ctx, opt);
  Halide::Type t = ctx.type();
  LineStats s = line_stats(ctx, 1);
  Lowered out;
  out.stages = s.stages;
  auto nll = [&](const Index& r, Expr c) {
    return (at(s.max, r) - at(ctx.in[0], {r[0], c})) + ieee_log(at(s.sum, r));
  };
  Halide::Func smooth;
  if (opt.smoothing > 0) {
    smooth = Halide::Func(ctx.name("smooth"));
    std::vector<Halide::Var> v = ir_vars(1);
    Halide::RDom c(0, int32_t(xs[1]), ctx.name("rc"));
    define(smooth, v, constant(t, 0));
    Expr term = nll(as_index(v), c);
    define(smooth, v, at(smooth, as_index(v)) + (weight ? weight(c) * term : term));
    out.stages.push_back({smooth, Shape{xs[0]}});
  }
  // In t, as the reference computes them.
  Expr keep = constant(t, 1) - constant(t, opt.smoothing);
  Expr spread = constant(t, opt.smoothing) / constant(t, static_cast<double>(xs[1]));
  Halide::Func total = total_over(
      ctx, Shape{xs[0]},
      [&](const Index& r) {
        Expr y = label_at(ctx.in[1], r, xs[1]);
        Expr loss = weight ? weight(y) * nll(r, y) : nll(r, y);
        if (opt.smoothing > 0) loss = keep * loss + spread * at(smooth, r);
        return loss;
      },
      out.stages);
  Expr count = Halide::cast(t, extent(xs, 0, ctx.batch()));
  if (weight) {
    // sum_r w[y_r], the weighted mean's denominator.
    Halide::Func total_weight = total_over(
        ctx, Shape{xs[0]}, [&](const Index& r) { return weight(label_at(ctx.in[1], r, xs[1])); },
        out.stages);
    count = total_weight();
  }
  Halide::Func j(ctx.name());
  j() = total() / count;
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

// ---- one_hot(labels) {num_classes, dtype, label_smoothing, weights} ---------------
//   out[..., j] = [labels[...] = j], or with options
//   out[..., j] = (s/C) w[j] + [labels[...] = j] (1 - s) w[j]   (the reference's order)
Lowered lower_one_hot(const LowerCtx& ctx) {
  int64_t classes = ctx.node.attrs.get_int("num_classes");
  CrossEntropyOptions opt = cross_entropy_options(ctx.node.attrs, classes);
  ClassWeight weight = class_weights(ctx, opt);
  Halide::Type t = ctx.type();
  int rank = ctx.out().shape.rank();
  Expr keep = constant(t, 1) - constant(t, opt.smoothing);
  Expr spread = constant(t, opt.smoothing) / constant(t, static_cast<double>(classes));
  return {pure_func(ctx.name(), rank, [&](const Index& i) {
    Index row(i.begin(), i.end() - 1);
    Expr hit = label_at(ctx.in[0], row, classes) == i.back();
    if (!weight && opt.smoothing == 0) return Halide::select(hit, constant(t, 1), constant(t, 0));
    Expr w = weight ? weight(i.back()) : constant(t, 1);
    Expr at_label = Halide::select(hit, keep * w, constant(t, 0));
    return opt.smoothing > 0 ? spread * w + at_label : at_label;
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
