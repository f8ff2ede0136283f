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
#include <optional>

namespace netc::codegen {

namespace {

using Halide::Expr;

enum class Fold { Sum, Max, Min };

// The reduced value over the kept axes (without the keepdims 1s), plus the
// reduction count.
struct Reduction {
  Stage stage;
  Expr count;
  std::optional<Stage> rows; // the per-image row partials that `stage` folds
};

// The vector width of the row partials of a reduction over the batch axis
// and the last axis (plus any others), or 0 when it does not apply: the
// widest divisor of the row in [4, 16] (14 on a 28- or 14-wide row; LLVM
// pads 14 lanes to one zmm), when each image has >= 16 elements to fold.
// (The bound was 64 until the 7x7 planes of mobilenet's last layers, 49
// elements, were measured on the root stage, which gathers across channels
// at a stride of H W on one thread: 2.2-5.5 GB/s, 10.7 ms for a batch norm
// backward on [256,256,7,7]; with 7-lane row partials, 2.5 ms.)
int row_lanes(const Shape& xs, const std::vector<int>& axes) {
  int r = xs.rank();
  if (r < 2 || xs[0] != kBatch || axes.empty() || axes.front() != 0 || axes.back() != r - 1)
    return 0;
  int64_t per_image = 1;
  for (int a : axes)
    if (a != 0) per_image *= xs[a];
  if (per_image < 16) return 0;
  for (int64_t l = 16; l >= 4; --l)
    if (xs[r - 1] % l == 0) return static_cast<int>(l);
  return 0;
}

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
  auto fold_with = [&](const Expr& self, const Expr& x) {
    return fold == Fold::Sum ? self + x : fold == Fold::Max ? max_nan(self, x) : min_nan(self, x);
  };
  auto init = [&] {
    return fold == Fold::Sum ? constant(t, 0) : fold == Fold::Max ? t.min() : t.max();
  };
  if (int lanes = row_lanes(xs, axes); lanes > 0 && kept.rank() > 0) {
    // Per-channel statistics over (N, H, W) (batch norm): the root stage
    // would vectorize across the kept channels, gathering at a stride of
    // H W, serially (2.5 GFLOP/s, ~1.3 ms on [128,32,28,28]). Instead each
    // image folds its rows into `lanes` columns of partials (dense vectors,
    // parallel over the images), and a small second stage folds the
    // partials over (image, lane).
    int r = xs.rank();
    std::vector<Halide::Var> pv = ir_vars(kept.rank() + 2); // n, kept..., lane
    std::vector<Expr> inner; // the other reduced axes, then the row's vector index
    Halide::Region region;
    for (auto a = axes.rbegin(); a != axes.rend(); ++a)
      if (*a == r - 1)
        region.emplace_back(0, int32_t(xs[r - 1] / lanes));
      else if (*a != 0)
        region.emplace_back(0, int32_t(xs[*a]));
    Halide::RDom rr(region, ctx.name("rrow"));
    Index xi;
    size_t k = 1, ri = region.size();
    for (int a = 0; a < r; ++a) {
      if (a == 0) {
        xi.push_back(pv[0]);
      } else if (std::find(axes.begin(), axes.end(), a) == axes.end()) {
        xi.push_back(pv[k++]);
      } else {
        Expr rv = rr[static_cast<int>(--ri)];
        xi.push_back(a == r - 1 ? rv * lanes + pv.back() : rv);
      }
    }
    Halide::Func part(ctx.name("rows"));
    define(part, pv, init());
    define(part, pv, fold_with(at(part, as_index(pv)), at(ctx.in[0], xi)));
    Halide::RDom rp(0, lanes, 0, ctx.batch(), ctx.name("rpart"));
    Index pi{rp.y};
    for (const Halide::Var& kv : v) pi.push_back(kv);
    pi.push_back(rp.x);
    define(f, v, init());
    define(f, v, fold_with(at(f, as_index(v)), at(part, pi)));
    std::vector<int64_t> part_dims{kBatch};
    part_dims.insert(part_dims.end(), kept_dims.begin(), kept_dims.end());
    part_dims.push_back(lanes);
    Expr count = 1;
    for (int a : axes) count = count * extent(xs, a, ctx.batch());
    return {{f, kept}, count, Stage{part, Shape(part_dims)}};
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
  Lowered low{value, {}};
  if (red.rows) low.stages.push_back(*red.rows);
  low.stages.push_back(red.stage);
  return low;
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
