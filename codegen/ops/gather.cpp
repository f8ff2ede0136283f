// Halide lowerings of the lookup-table family (ir/ops/gather.cpp).
//
// gather is a pure Func (a row index read from the ids, then the row), so it
// fuses into its consumers like any data movement. gather_backward is a
// scatter: an update definition over an RDom of the id positions,
//   dtable(d, clamp(ids(p))) += dy(d, p)
// O(positions x D) instead of the O(V x positions x D) of a gather over
// every (row, position) pair. The schedule (codegen/schedule.cpp) runs the
// positions serially and vectorizes over d: lanes are distinct columns of
// one row, so repeated ids never race.
//
// Ids outside 0..V-1: the index is clamped so that no schedule reads or
// writes outside the table, and the scatter checks each id with require(),
// which stops the kernel with a Halide error naming the id and its position
// (the executor also checks declared class(V) inputs before any kernel runs,
// runtime/executor.cpp, which covers inference, where no scatter runs).
#include "codegen/lowering.h"

#include <fmt/format.h>

namespace netc::codegen {

namespace {

using Halide::Expr;

Expr row_of(Expr id, int64_t rows) { return Halide::clamp(id, 0, int32_t(rows - 1)); }

// ---- gather(table, ids) ----------------------------------------------------------
//   y[s..., d] = table[ids[s...], d]
Lowered lower_gather(const LowerCtx& ctx) {
  int64_t V = ctx.in_types[0].shape[0];
  return {pure_func(ctx.name(), ctx.out().shape.rank(), [&](const Index& i) {
    Index pos(i.begin(), i.end() - 1);
    Expr row = row_of(Halide::cast(Halide::Int(32), at(ctx.in[1], pos)), V);
    return at(ctx.in[0], {row, i.back()});
  })};
}

// ---- gather_backward(dy, ids) {vocab} ---------------------------------------------
//   dtable = 0;  for each position s (serially): dtable[ids[s], :] += dy[s, :]
// The positions run in the reference's order, so repeated ids sum alike.
Lowered lower_gather_backward(const LowerCtx& ctx) {
  const Shape& ids = ctx.in_types[1].shape;
  int64_t V = ctx.out().shape[0];
  std::vector<int> axes(static_cast<size_t>(ids.rank()));
  for (int a = 0; a < ids.rank(); ++a) axes[size_t(a)] = a;
  AxisRDom r = axis_rdom(ids, axes, ctx.batch(), ctx.name("r"));
  Expr id = Halide::cast(Halide::Int(32), at(ctx.in[1], r.vars));
  std::vector<Halide::Var> v = ir_vars(2); // (row, d) in IR order
  Index dy_at = r.vars;
  dy_at.push_back(v[1]);
  // require() prints its arguments, space separated, after the failed
  // condition: "gather_backward: id 12 at position 3 7 is outside ...".
  std::vector<Expr> message = {at(ctx.in[0], dy_at), Expr(std::string("gather_backward: id")), id,
                               Expr(std::string("at position"))};
  for (const Expr& p : r.vars) message.push_back(p);
  message.emplace_back(fmt::format("is outside the table's rows 0..{}", V - 1));
  Expr checked = Halide::require(id >= 0 && id < int32_t(V), message);
  Halide::Func dtable(ctx.name());
  define(dtable, v, constant(ctx.type(), 0));
  Expr row = row_of(id, V);
  dtable(v[1], row) = dtable(v[1], row) + checked;
  Lowered out;
  out.value = dtable;
  out.stages.push_back({dtable, ctx.out().shape});
  return out;
}

const OpLowering kGatherLowerings[] = {
    {OpKind::Gather, lower_gather},
    {OpKind::GatherBackward, lower_gather_backward},
};

} // namespace

std::span<const OpLowering> gather_lowerings() { return kGatherLowerings; }

} // namespace netc::codegen
