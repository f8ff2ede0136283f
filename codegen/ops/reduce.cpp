// Reductions over a set of axes {axes, keepdims}: one update Func (a Stage
// for the schedule) whose RDom walks the reduced axes, innermost first, and
// whose pure Vars are the kept axes. reduce_mean divides by the runtime count
// when the batch axis is reduced. max/min propagate NaNs like the reference,
// and start from the type's lowest/highest finite value rather than an
// infinity: Halide's code generation assumes finite floats, so an infinite
// constant is not safe to rely on.
#include "codegen/lowering.h"

#include "ir/ops/common.h"

#include <algorithm>

namespace netc::codegen {

namespace {

using Halide::Expr;

enum class Fold { Sum, Max, Min };

// The reduced value over the kept axes (without the keepdims 1s), plus the
// reduction count.
struct Reduction {
  Stage stage;
  Expr count;
};

Reduction reduce(const LowerCtx& ctx, Fold fold) {
  const Shape& xs = ctx.in_types[0].shape;
  std::vector<int> axes = reduce_axes(ctx.node.attrs, ctx.in_types[0]);
  std::vector<int64_t> kept_dims;
  for (int a = 0; a < xs.rank(); ++a)
    if (std::find(axes.begin(), axes.end(), a) == axes.end()) kept_dims.push_back(xs[a]);
  Shape kept(kept_dims);
  Halide::Type t = ctx.type();
  Halide::Func f(ctx.name("fold"));
  std::vector<Halide::Var> v = ir_vars(kept.rank());
  if (axes.empty()) { // a scalar input: nothing to reduce
    define(f, v, at(ctx.in[0], {}));
    return {{f, kept}, Expr(1)};
  }
  AxisRDom r = axis_rdom(xs, axes, ctx.batch(), ctx.name("r"));
  Index xi;
  size_t k = 0, ri = 0;
  for (int a = 0; a < xs.rank(); ++a)
    if (ri < axes.size() && axes[ri] == a)
      xi.push_back(r.vars[ri++]);
    else
      xi.push_back(v[k++]);
  switch (fold) {
  case Fold::Sum: define(f, v, constant(t, 0)); break;
  case Fold::Max: define(f, v, t.min()); break;
  case Fold::Min: define(f, v, t.max()); break;
  }
  Expr x = at(ctx.in[0], xi), self = at(f, as_index(v));
  Expr next = fold == Fold::Sum   ? self + x
              : fold == Fold::Max ? max_nan(self, x)
                                  : min_nan(self, x);
  define(f, v, next);
  Expr count = 1;
  for (int a : axes) count = count * extent(xs, a, ctx.batch());
  return {{f, kept}, count};
}

// The value over the output shape: the folded Func, read through the keepdims 1s.
Lowered finish(const LowerCtx& ctx, const Reduction& red) {
  const Shape& out = ctx.out().shape;
  bool keepdims = out.rank() != red.stage.shape.rank();
  std::vector<int> axes = reduce_axes(ctx.node.attrs, ctx.in_types[0]);
  Halide::Func value = pure_func(ctx.name(), out.rank(), [&](const Index& i) {
    Index kept;
    for (int a = 0; a < out.rank(); ++a)
      if (!keepdims || std::find(axes.begin(), axes.end(), a) == axes.end())
        kept.push_back(i[static_cast<size_t>(a)]);
    return at(red.stage.f, kept);
  });
  return {value, {red.stage}};
}

Lowered lower_reduce_sum(const LowerCtx& c) { return finish(c, reduce(c, Fold::Sum)); }
Lowered lower_reduce_max(const LowerCtx& c) { return finish(c, reduce(c, Fold::Max)); }
Lowered lower_reduce_min(const LowerCtx& c) { return finish(c, reduce(c, Fold::Min)); }

// reduce_mean: the sum times 1/count, divided as the reference does (sum / count).
Lowered lower_reduce_mean(const LowerCtx& c) {
  Reduction red = reduce(c, Fold::Sum);
  const Shape& out = c.out().shape;
  Lowered sum = finish(c, red);
  Expr count = Halide::cast(c.type(), red.count);
  Halide::Func mean = pure_func(c.name("mean"), out.rank(),
                                [&](const Index& i) { return at(sum.value, i) / count; });
  return {mean, sum.stages};
}

const OpLowering kReduceLowerings[] = {
    {OpKind::ReduceSum, lower_reduce_sum},
    {OpKind::ReduceMean, lower_reduce_mean},
    {OpKind::ReduceMax, lower_reduce_max},
    {OpKind::ReduceMin, lower_reduce_min},
};

} // namespace

std::span<const OpLowering> reduce_lowerings() { return kReduceLowerings; }

} // namespace netc::codegen
