// Batch normalization and dropout in both modes, and layer normalization (the
// same in both). LowerOptions::training picks the mode at compile time (the
// train/test specialization later removes the inference forms from the graph,
// but a kernel of either mode must match the reference).
#include "codegen/lowering.h"

#include "ir/random.h"

namespace netc::codegen {

namespace {

using Halide::Expr;

// ---- batchnorm(x, gamma, beta, running_mean, running_var) {axis, eps} -----------
//   out = gamma[c] ((x - mu[c]) inv_std[c]) + beta[c],  inv_std = 1 / sqrt(var + eps)
// Training takes mu and var over every axis but the channel's, in two passes
// accumulated in double as the reference does; inference reads the running
// statistics. The per-channel values are stages, computed once per call.
Lowered lower_batchnorm(const LowerCtx& ctx) {
  const Shape& xs = ctx.in_types[0].shape;
  int rank = xs.rank();
  auto axis64 = ctx.node.attrs.get_int("axis", 1);
  int axis = static_cast<int>(axis64 < 0 ? axis64 + rank : axis64);
  double eps = ctx.node.attrs.get_float("eps", 1e-5);
  Halide::Type t = ctx.type(), f64 = Halide::Float(64);
  Shape channels{xs[axis]};
  Halide::Var c("x0");
  Lowered out;

  Halide::Func mean(ctx.name("mean")), var(ctx.name("var"));
  if (ctx.options.training) {
    std::vector<int> others;
    for (int a = 0; a < rank; ++a)
      if (a != axis) others.push_back(a);
    Expr m = Halide::cast(f64, elements(xs, ctx.batch()) / int32_t(xs[axis]));
    auto x_at = [&](const AxisRDom& r) {
      Index i;
      for (int a = 0, k = 0; a < rank; ++a) i.push_back(a == axis ? Expr(c) : r.vars[size_t(k++)]);
      return Halide::cast(f64, at(ctx.in[0], i));
    };
    AxisRDom r1 = axis_rdom(xs, others, ctx.batch(), ctx.name("r1"));
    Halide::Func sum(ctx.name("sum"));
    sum(c) = constant(f64, 0);
    sum(c) += x_at(r1);
    mean(c) = sum(c) / m;
    AxisRDom r2 = axis_rdom(xs, others, ctx.batch(), ctx.name("r2"));
    Halide::Func sq(ctx.name("sq"));
    sq(c) = constant(f64, 0);
    Expr d = x_at(r2) - mean(c);
    sq(c) += d * d;
    var(c) = sq(c) / m;
    out.stages.push_back({sum, channels});
    out.stages.push_back({sq, channels});
  } else {
    mean(c) = Halide::cast(f64, ctx.in[3](c));
    var(c) = Halide::cast(f64, ctx.in[4](c));
  }
  // mu and inv_std rounded to the kernel's type, as the reference rounds them.
  Halide::Func stats(ctx.name("stats"));
  Expr inv_std = 1 / Halide::sqrt(var(c) + Expr(eps));
  stats(c) = Halide::Tuple(Halide::cast(t, mean(c)), Halide::cast(t, inv_std));
  out.stages.push_back({stats, channels});
  out.value = pure_func(ctx.name(), rank, [&](const Index& i) {
    Expr ch = i[size_t(axis)];
    Expr x = at(ctx.in[0], i);
    return ctx.in[1](ch) * ((x - stats(ch)[0]) * stats(ch)[1]) + ctx.in[2](ch);
  });
  return out;
}

// ---- layernorm(x, gamma, beta) {axes, eps} --------------------------------------
//   out = (x - mu[row]) inv_std[row] gamma[j] + beta[j],  inv_std = 1 / sqrt(var + eps)
// over rows of the leading axes; gamma has the trailing (normalized) axes, so
// their count is its rank. mu and var in two passes accumulated in double, as
// the reference does; mu and inv_std are stages rounded to the kernel's type,
// computed once per row.
Lowered lower_layernorm(const LowerCtx& ctx) {
  const Shape& xs = ctx.in_types[0].shape;
  int rank = xs.rank(), lead = rank - ctx.in_types[1].shape.rank();
  double eps = ctx.node.attrs.get_float("eps", 1e-5);
  Halide::Type t = ctx.type(), f64 = Halide::Float(64);
  std::vector<int> axes;
  int64_t m = 1;
  for (int a = lead; a < rank; ++a) {
    axes.push_back(a);
    m *= xs[a];
  }
  Shape rows(std::vector<int64_t>(xs.dims.begin(), xs.dims.begin() + lead));
  std::vector<Halide::Var> v = ir_vars(lead);
  Index row = as_index(v);
  auto x_at = [&](const AxisRDom& r) {
    Index i = row;
    i.insert(i.end(), r.vars.begin(), r.vars.end());
    return Halide::cast(f64, at(ctx.in[0], i));
  };
  Halide::Func sum(ctx.name("sum")), sq(ctx.name("sq")), mean(ctx.name("mean"));
  Halide::Func mu(ctx.name("mu")), inv_std(ctx.name("inv_std"));
  AxisRDom r1 = axis_rdom(xs, axes, ctx.batch(), ctx.name("r1"));
  define(sum, v, constant(f64, 0));
  define(sum, v, at(sum, row) + x_at(r1));
  define(mean, v, at(sum, row) / constant(f64, double(m)));
  AxisRDom r2 = axis_rdom(xs, axes, ctx.batch(), ctx.name("r2"));
  Expr d = x_at(r2) - at(mean, row);
  define(sq, v, constant(f64, 0));
  define(sq, v, at(sq, row) + d * d);
  define(mu, v, Halide::cast(t, at(mean, row)));
  Expr var = at(sq, row) / constant(f64, double(m));
  define(inv_std, v, Halide::cast(t, 1 / Halide::sqrt(var + constant(f64, eps))));
  Lowered out;
  out.stages = {{sum, rows}, {sq, rows}, {mu, rows}, {inv_std, rows}};
  out.value = pure_func(ctx.name(), rank, [&](const Index& i) {
    Index r(i.begin(), i.begin() + lead), j(i.begin() + lead, i.end());
    return (at(ctx.in[0], i) - at(mu, r)) * at(inv_std, r) * at(ctx.in[1], j) + at(ctx.in[2], j);
  });
  return out;
}

// ---- dropout(x, keep) {stream} and dropout_mask(x, keep) {stream} ---------------
// ir/random.h's generator, bit for bit: 32-bit unsigned multiply, xor and
// shift. The first four rounds depend only on (seed, stream, step), so Halide
// hoists them out of the loops; each element costs one mix32.
Expr mix32(Expr x) {
  x = x ^ (x >> 16);
  x = x * Expr(uint32_t(0x7feb352dU));
  x = x ^ (x >> 15);
  x = x * Expr(uint32_t(0x846ca68bU));
  return x ^ (x >> 16);
}

// Whether element `idx` of x is kept: uniform01(seed, stream, step, e) < keep
// in float, e the flat row-major index (mod 2^32, as the reference casts it).
Expr kept(const LowerCtx& ctx, const Index& idx) {
  const Shape& s = ctx.out().shape;
  Halide::Type u32 = Halide::UInt(32);
  auto stream = static_cast<uint32_t>(ctx.node.attrs.get_int("stream"));
  Expr seed = ctx.scalars.seed;
  Expr h = mix32(Halide::cast(u32, seed) ^ Expr(uint32_t(0x9e3779b9U)));
  h = mix32(h ^ Halide::cast(u32, seed >> 32));
  h = mix32(h ^ Expr(stream));
  h = mix32(h ^ ctx.scalars.step);
  Expr e = Expr(uint32_t(0));
  for (int a = 0; a < s.rank(); ++a)
    e = e * Halide::cast(u32, extent(s, a, ctx.batch())) + Halide::cast(u32, idx[size_t(a)]);
  Expr u = Halide::cast(Halide::Float(32), mix32(h ^ e) >> 8) * (1.0f / 16777216.0f);
  return u < Halide::cast(Halide::Float(32), ctx.in[1]());
}

// training: out = kept ? x / keep : 0;  inference: out = x.
Lowered lower_dropout(const LowerCtx& ctx) {
  int rank = ctx.out().shape.rank();
  if (!ctx.options.training)
    return {pure_func(ctx.name(), rank, [&](const Index& i) { return at(ctx.in[0], i); })};
  return {pure_func(ctx.name(), rank, [&](const Index& i) {
    Expr x = at(ctx.in[0], i);
    return Halide::select(kept(ctx, i), x / ctx.in[1](), constant(x.type(), 0));
  })};
}

// m = kept ? 1 / keep : 0, in either mode (x only gives the shape).
Lowered lower_dropout_mask(const LowerCtx& ctx) {
  Halide::Type t = ctx.type();
  return {pure_func(ctx.name(), ctx.out().shape.rank(), [&](const Index& i) {
    return Halide::select(kept(ctx, i), constant(t, 1) / ctx.in[1](), constant(t, 0));
  })};
}

const OpLowering kNormLowerings[] = {
    {OpKind::BatchNorm, lower_batchnorm},
    {OpKind::Dropout, lower_dropout},
    {OpKind::DropoutMask, lower_dropout_mask},
    {OpKind::LayerNorm, lower_layernorm},
};

} // namespace

std::span<const OpLowering> norm_lowerings() { return kNormLowerings; }

} // namespace netc::codegen
